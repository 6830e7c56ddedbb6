import { TestbedError, type Scope } from '../core/index.js';
import type { ProfileCatalogue } from '../device-profiles/index.js';
import type { TestbedRegistry } from '../registry/index.js';
import { QueryTimeExceeded, type ReadingStore } from '../store/index.js';
import { collection, render, selfLink, type Context } from './execute.js';
import { landingPage } from './landing.js';
import { STA_LIMITS, type StaLimits } from './limits.js';
import { datastreamId, observationOf, qualityOf, splitObservationId } from './mapping.js';
import { isEntitySet, NAVIGATION, PROPERTIES, type Entity, type EntitySet } from './model.js';
import { badQuery } from './odata/errors.js';
import { parseOptions } from './odata/options.js';
import { parsePath } from './odata/path.js';
import { Periods } from './periods.js';
import { toOne } from './resolve.js';
import { World } from './world.js';

export interface SensorThingsDeps {
  readonly registry: TestbedRegistry;
  readonly readings: ReadingStore;
  readonly profiles: ProfileCatalogue;
  /** The longest a request's store queries may run, in ms. */
  readonly maxQueryMs: number;
  readonly limits?: Partial<StaLimits> | undefined;
}

/** One request: the caller's scope, the path below the service root, the query string, and the root's absolute URL. */
export interface SensorThingsRequest {
  readonly scope: Scope;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly base: string;
}

/** A JSON body, or the bare text of a property's `$value`. */
export type SensorThingsAnswer = { readonly json: unknown } | { readonly text: string };

export const NO_ENTITY = 'No SensorThings entity with this id is visible to this caller; check the id, and that the key (if any) may see it';
const notFound = () => new TestbedError('TESTBED_NOT_FOUND', NO_ENTITY);

/**
 * The read-only SensorThings API 1.1 (OGC 18-088) over the registry and the
 * reading store, in the caller's scope. Framework-free: the API's route hands
 * it the resolved scope, the path and the query, and sends what it answers.
 */
export class SensorThings {
  readonly #limits: StaLimits;
  constructor(private readonly deps: SensorThingsDeps) {
    this.#limits = { ...STA_LIMITS, ...deps.limits };
  }

  async answer(request: SensorThingsRequest): Promise<SensorThingsAnswer> {
    try {
      return await this.#answer(request);
    } catch (err) {
      if (err instanceof QueryTimeExceeded) {
        throw new TestbedError(
          'TESTBED_LIMIT_EXCEEDED',
          `The query ran past the longest query time (${this.deps.maxQueryMs / 1000} s): narrow the phenomenonTime range in $filter`,
          {
            limit: 'maxQueryMs',
            value: this.deps.maxQueryMs,
          },
        );
      }
      throw err;
    }
  }

  async #answer({ scope, path, query, base }: SensorThingsRequest): Promise<SensorThingsAnswer> {
    const segments = parsePath(path);
    if (!segments.length) return { json: landingPage(base) };
    const options = parseOptions(query.entries());
    const world = new World(this.deps.registry, this.deps.profiles, scope, base.replace(/\/sta\/v1\.1$/, ''));
    const deadline = Date.now() + this.deps.maxQueryMs;
    const ctx: Context = {
      world,
      scope,
      store: this.deps.readings,
      limits: this.#limits,
      deadline,
      periods: new Periods(this.deps.readings, scope, deadline),
      base,
    };

    // OGC 18-088 9.2.7 association links: the same answer, each entity only its @iot.selfLink.
    const ref = segments.at(-1)?.name === '$ref';
    if (ref) segments.pop();
    const asked = ref ? { ...options, select: ['@iot.selfLink'], expand: [] } : options;
    const [first, ...rest] = segments;
    if (!first || !isEntitySet(first.name)) throw badQuery(`${first?.name ?? ''} is not an entity set; the landing page ${base} lists them`);
    // Anything but a top-level collection walks the entity graph: read the scope first (a plain page of Things reads only its page).
    if (first.id !== undefined || rest.length > 0) await world.loadAll();
    let set: EntitySet = first.name;
    let entity: Entity | undefined = first.id === undefined ? undefined : await this.#byId(ctx, set, first.id);
    if (first.id !== undefined && !entity) throw notFound();
    let url = entity ? selfLink(ctx, entity) : `${base}/${first.name}`;
    for (const [i, seg] of rest.entries()) {
      if (!entity) throw badQuery(`${seg.name} follows a collection; address one entity first, e.g. ${url}('id')/${seg.name}`);
      const nav = NAVIGATION[set][seg.name];
      if (nav && seg.id !== undefined) {
        // OGC 18-088 9.2.3: /Things('a')/Datastreams('b') is Datastreams('b') when it is one of the Thing's, else 404.
        if (!nav.many) throw badQuery(`${seg.name} is a single entity; it takes no key`);
        const member = await this.#byId(ctx, nav.target, seg.id);
        if (!member || !(await isMember(ctx, entity, seg.name, member))) throw notFound();
        [entity, set, url] = [member, nav.target, selfLink(ctx, member)];
        continue;
      }
      if (nav?.many) {
        if (i !== rest.length - 1) throw badQuery(`${seg.name} is a collection; address one entity of it, e.g. ${seg.name}('id')`);
        return { json: envelope(await collection(ctx, nav.target, { kind: 'nav', from: entity, nav: seg.name }, asked, `${url}/${seg.name}`)) };
      }
      if (nav) {
        entity = toOne(world, entity, seg.name);
        if (!entity) throw notFound();
        set = nav.target;
        url = selfLink(ctx, entity);
        continue;
      }
      if ((PROPERTIES[set].includes(seg.name) || seg.name === 'id') && ref) throw badQuery('$ref follows an entity or a collection, not a property');
      if (PROPERTIES[set].includes(seg.name) || seg.name === 'id')
        return property(await render(ctx, entity, { ...options, select: [seg.name], expand: [] }), seg.name, rest[i + 1]?.name);
      throw badQuery(`${seg.name} is neither a property nor a navigation property of ${set}`);
    }
    if (entity) return { json: await render(ctx, entity, asked) };
    return { json: envelope(await collection(ctx, set, { kind: 'set' }, asked, url)) };
  }

  /** An entity by id in the caller's world; an Observation is read from the store at its instant. */
  async #byId(ctx: Context, set: EntitySet, id: string): Promise<Entity | undefined> {
    if (set !== 'Observations') return ctx.world.get(set, id);
    const o = splitObservationId(id);
    const ds = o && ctx.world.datastream(`${o.deviceId}~${o.measurement}`);
    if (!o || !ds) return undefined;
    const select = { kind: 'device', deviceId: o.deviceId } as const;
    const [row] = await ctx.store.queryRaw(ctx.scope, {
      select,
      from: o.time,
      to: o.time + 1,
      measurements: [o.measurement],
      limit: 1,
      deadline: ctx.deadline,
    });
    const value = row?.values[o.measurement];
    return row && value !== undefined ? observationOf(o.deviceId, o.measurement, row.time, value, qualityOf(row, o.measurement)) : undefined;
  }
}

/** Whether `member` is one of the entities the to-many navigation property `nav` of `from` leads to. */
async function isMember(ctx: Context, from: Entity, nav: string, member: Entity): Promise<boolean> {
  if (member.set !== 'Observations') return ctx.world.related(from, nav).some((e) => e.id === member.id);
  const o = splitObservationId(member.id);
  // A Datastream's Observations are its own; a FeatureOfInterest's those of its device.
  return !!o && (from.set === 'Datastreams' ? from.id === datastreamId(o.deviceId, o.measurement) : from.id === o.deviceId);
}

/** OGC 18-088 9.2.2: a collection answers { @iot.count?, value, @iot.nextLink? }. */
function envelope(c: { value: unknown[]; count?: number | undefined; nextLink?: string | undefined }) {
  return { ...(c.count !== undefined ? { '@iot.count': c.count } : {}), value: c.value, ...(c.nextLink ? { '@iot.nextLink': c.nextLink } : {}) };
}

/** OGC 18-088 9.2.4 and 9.2.5: a property as { name: value }, or its bare value after /$value. */
function property(rendered: Record<string, unknown>, name: string, next: string | undefined): SensorThingsAnswer {
  const key = name === 'id' ? '@iot.id' : name;
  const value = rendered[key] ?? null;
  if (next === undefined) return { json: { [key]: value } };
  if (next !== '$value') throw badQuery(`Only $value may follow the property ${name}`);
  return { text: typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value) };
}
