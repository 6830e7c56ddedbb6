import type { Scope } from '../core/index.js';
import type { ReadingStore } from '../store/index.js';
import type { StaLimits } from './limits.js';
import { NAVIGATION, PROPERTIES, type Entity, type EntitySet } from './model.js';
import { observationPage } from './observations.js';
import { orderValues, passes } from './odata/evaluate.js';
import { badQuery, unsupported } from './odata/errors.js';
import type { Expr } from './odata/filter.js';
import type { QueryOptions } from './odata/options.js';
import type { Periods } from './periods.js';
import { resolver, toOne } from './resolve.js';
import type { DatastreamRecord, World } from './world.js';

/** What one request runs with: the caller's world and scope, the store, and where links point. */
export interface Context {
  readonly world: World;
  readonly scope: Scope;
  readonly store: ReadingStore;
  readonly limits: StaLimits;
  readonly deadline: number;
  readonly periods: Periods;
  /** The service root, e.g. https://host/sta/v1.1: every link starts with it. */
  readonly base: string;
}

/** Where a collection comes from: a whole entity set, or a navigation property of one entity. */
export type Source = { readonly kind: 'set' } | { readonly kind: 'nav'; readonly from: Entity; readonly nav: string };

export interface Collection {
  readonly value: Record<string, unknown>[];
  readonly count?: number | undefined;
  readonly nextLink?: string | undefined;
}

export const selfLink = (ctx: Context, e: Entity): string => `${ctx.base}/${e.set}('${e.id.replaceAll("'", "''")}')`;

/** The Datastreams whose Observations a source names. */
function datastreamsOf(ctx: Context, source: Source): DatastreamRecord[] {
  if (source.kind === 'set') return ctx.world.datastreams();
  if (source.from.set === 'Datastreams') return [ctx.world.datastream(source.from.id)].filter((d) => d !== undefined);
  return [...(ctx.world.thing(source.from.id)?.datastreams.values() ?? [])]; // a FeatureOfInterest: its device's
}

/** The entities (not Observations) of a source, before options. */
function members(ctx: Context, set: EntitySet, source: Source): Entity[] {
  if (source.kind === 'set') return ctx.world.all(set as Exclude<EntitySet, 'Observations'>);
  return ctx.world.related(source.from, source.nav);
}

const mentions = (e: Expr | undefined, names: readonly string[]): boolean =>
  !!e &&
  (e.k === 'path'
    ? names.includes(e.p[0] as string)
    : e.k === 'bin'
      ? mentions(e.l, names) || mentions(e.r, names)
      : e.k === 'not'
        ? mentions(e.e, names)
        : e.k === 'call'
          ? e.args.some((a) => mentions(a, names))
          : false);

const comparator = (ctx: Context, options: QueryOptions) => (a: Entity, b: Entity) => {
  for (const term of options.orderby) {
    const [ra, rb] = [resolver(ctx.world, a), resolver(ctx.world, b)];
    const va = term.by.k === 'path' ? ra(term.by.p) : null;
    const vb = term.by.k === 'path' ? rb(term.by.p) : null;
    const c = orderValues(va, vb);
    if (c !== 0) return term.desc ? -c : c;
  }
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
};

/** A page of a collection (OGC 18-088 9.2.2, 9.3.3): filtered, ordered, counted, paged, each entity rendered. */
export async function collection(ctx: Context, set: EntitySet, source: Source, options: QueryOptions, url: string): Promise<Collection> {
  for (const term of options.orderby) if (term.by.k !== 'path') throw unsupported('$orderby by an expression', 'order by a property path');
  const top = Math.min(options.top ?? ctx.limits.defaultTop, ctx.limits.maxTop);
  let page: Entity[];
  let count: number | undefined;
  let next: { skip?: number | undefined; skiptoken?: string | undefined } | undefined;
  const plainThings = isPlainThingListing(set, source, options);
  // $expand may walk from a Thing to every Datastream of a Sensor: only a bare page of Things needs no more than its page.
  if (!plainThings || options.expand.length > 0) await ctx.world.loadAll();
  if (set === 'Observations') {
    const p = await observationPage({
      scope: ctx.scope,
      store: ctx.store,
      limits: ctx.limits,
      deadline: ctx.deadline,
      datastreams: datastreamsOf(ctx, source),
      options,
      top,
      resolver: (e) => resolver(ctx.world, e),
      compare: comparator(ctx, options),
    });
    page = p.entities;
    count = p.count;
    if (p.skiptoken !== undefined || p.nextSkip !== undefined) next = { skip: p.nextSkip, skiptoken: p.skiptoken };
  } else if (plainThings) {
    // A plain page of Things: cut by the registry's query in id order, continued after the last id.
    const after = options.skiptoken === undefined ? undefined : decodeThingToken(options.skiptoken);
    const p = await ctx.world.thingPage({ afterId: after, offset: after === undefined ? options.skip : 0, limit: top + 1 }, options.count);
    count = p.count;
    page = p.things.slice(0, top).map((t) => t.entity);
    if (p.things.length > top) next = { skiptoken: Buffer.from(JSON.stringify({ i: page.at(-1)?.id })).toString('base64url') };
  } else {
    if (
      set === 'Datastreams' &&
      (mentions(options.filter, ['phenomenonTime', 'resultTime']) || options.orderby.some((t) => mentions(t.by, ['phenomenonTime', 'resultTime'])))
    ) {
      throw unsupported('$filter or $orderby on a Datastream phenomenonTime or resultTime', 'filter the Observations by phenomenonTime instead');
    }
    const all = members(ctx, set, source).filter((e) => passes(options.filter, resolver(ctx.world, e)));
    all.sort(comparator(ctx, options));
    count = options.count ? all.length : undefined;
    page = all.slice(options.skip, options.skip + top);
    if (all.length > options.skip + top) next = { skip: options.skip + top };
  }
  const value = await Promise.all(page.map((e) => render(ctx, e, options)));
  return { value, count, nextLink: next && nextLink(url, options, top, next) };
}

/** Things with no $filter, in id order: the registry pages them (OGC 18-088 9.3.3.3: without $orderby the order is the server's). */
const isPlainThingListing = (set: EntitySet, source: Source, options: QueryOptions): boolean =>
  set === 'Things' &&
  source.kind === 'set' &&
  options.filter === undefined &&
  (options.orderby.length === 0 ||
    (options.orderby.length === 1 &&
      !options.orderby[0]!.desc &&
      options.orderby[0]!.by.k === 'path' &&
      ['id', '@iot.id'].includes(options.orderby[0]!.by.p.join('/'))));

function decodeThingToken(token: string): string {
  try {
    const { i } = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { i?: unknown };
    if (typeof i === 'string') return i;
  } catch {
    // answered below
  }
  throw badQuery('$skiptoken is not one this server issued; follow @iot.nextLink unchanged');
}

/** OGC 18-088 9.3.3.1: @iot.nextLink repeats the request with the next $skip (or our $skiptoken). */
function nextLink(url: string, options: QueryOptions, top: number, next: { skip?: number | undefined; skiptoken?: string | undefined }): string {
  const params = new URLSearchParams();
  for (const [name, value] of options.raw) if (!['$top', '$skip', '$skiptoken'].includes(name)) params.append(name, value);
  params.set('$top', String(top));
  if (next.skiptoken !== undefined) params.set('$skiptoken', next.skiptoken);
  else params.set('$skip', String(next.skip ?? 0));
  return `${url}?${params.toString()}`;
}

/** One entity as JSON: @iot.id, @iot.selfLink, the selected properties, navigation links and expansions (OGC 18-088 9.2.1, 9.3.2). */
export async function render(ctx: Context, e: Entity, options: QueryOptions): Promise<Record<string, unknown>> {
  const self = selfLink(ctx, e);
  const selected = (name: string) => !options.select || options.select.includes(name);
  const out: Record<string, unknown> = {};
  if (selected('id') || selected('@iot.id')) out['@iot.id'] = e.id;
  if (selected('selfLink') || selected('@iot.selfLink') || !options.select) out['@iot.selfLink'] = self;
  for (const name of options.select ?? []) {
    if (!['id', '@iot.id', 'selfLink', '@iot.selfLink'].includes(name) && !PROPERTIES[e.set].includes(name) && !NAVIGATION[e.set][name]) {
      throw unsupported(`$select=${name} on ${e.set}`, `its properties are ${PROPERTIES[e.set].join(', ')}`);
    }
  }
  for (const name of PROPERTIES[e.set]) if (selected(name)) out[name] = e.props[name] ?? null;
  if (e.set === 'Datastreams' && (selected('phenomenonTime') || selected('resultTime'))) {
    const record = ctx.world.datastream(e.id);
    const p = record ? await ctx.periods.of(record) : null;
    if (selected('phenomenonTime')) out.phenomenonTime = p;
    if (selected('resultTime')) out.resultTime = p;
  }
  for (const nav of Object.keys(NAVIGATION[e.set])) if (selected(nav)) out[`${nav}@iot.navigationLink`] = `${self}/${nav}`;
  for (const item of options.expand) {
    const nav = NAVIGATION[e.set][item.nav];
    if (!nav) throw unsupported(`$expand=${item.nav} on ${e.set}`, `its navigation properties are ${Object.keys(NAVIGATION[e.set]).join(', ')}`);
    if (nav.many) {
      const c = await collection(ctx, nav.target, { kind: 'nav', from: e, nav: item.nav }, item.options, `${self}/${item.nav}`);
      if (c.count !== undefined) out[`${item.nav}@iot.count`] = c.count;
      out[item.nav] = c.value;
      if (c.nextLink) out[`${item.nav}@iot.nextLink`] = c.nextLink;
    } else {
      const target = toOne(ctx.world, e, item.nav);
      out[item.nav] = target ? await render(ctx, target, item.options) : null;
    }
  }
  return out;
}
