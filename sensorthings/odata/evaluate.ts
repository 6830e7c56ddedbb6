import { badQuery } from './errors.js';
import type { Expr } from './filter.js';
import { fromGeoJson, intersects, within, type Geometry } from './geo.js';

/** A time, kept apart from numbers so that comparisons with time literals know to parse strings. */
interface Instant {
  readonly ms: number;
  /** An interval's end (OGC 18-088 TM_Period "start/end"); the instant itself otherwise. */
  readonly end: number;
}
type Value = string | number | boolean | null | undefined | Instant | Geometry | object;

/** Reads a property path of the entity being tested: `name`, `properties/pilot`, `Datastream/name`. */
export type Resolve = (path: readonly string[]) => unknown;

const isInstant = (v: Value): v is Instant => typeof v === 'object' && v !== null && 'ms' in v && 'end' in v;

/** A time-valued string (an instant or an interval "start/end") as an Instant; undefined when it is not one. */
function asInstant(v: Value): Instant | undefined {
  if (isInstant(v)) return v;
  if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}T/.test(v)) return undefined;
  const [a, b] = v.split('/');
  const ms = Date.parse(a ?? '');
  const end = b === undefined ? ms : Date.parse(b);
  return Number.isNaN(ms) || Number.isNaN(end) ? undefined : { ms, end };
}

function compare(op: string, l: Value, r: Value): boolean {
  if (isInstant(l) || isInstant(r)) {
    const a = asInstant(l);
    const b = asInstant(r);
    if (!a || !b) return false;
    // An interval is greater than a time when it starts after it, less when it ends before it.
    if (op === 'eq') return a.ms === b.ms && a.end === b.end;
    if (op === 'ne') return a.ms !== b.ms || a.end !== b.end;
    if (op === 'gt') return a.ms > b.end;
    if (op === 'ge') return a.ms >= b.end;
    if (op === 'lt') return a.end < b.ms;
    return a.end <= b.ms;
  }
  if (op === 'eq') return l === r || (l == null && r == null);
  if (op === 'ne') return !(l === r || (l == null && r == null));
  if (l == null || r == null || typeof l !== typeof r || typeof l === 'object') return false;
  const [a, b] = [l as string | number, r as string | number];
  if (op === 'gt') return a > b;
  if (op === 'ge') return a >= b;
  if (op === 'lt') return a < b;
  return a <= b;
}

function arithmetic(op: string, l: Value, r: Value): number | null {
  if (typeof l !== 'number' || typeof r !== 'number') return null;
  if (op === 'add') return l + r;
  if (op === 'sub') return l - r;
  if (op === 'mul') return l * r;
  if (op === 'div') return r === 0 ? null : l / r;
  return r === 0 ? null : l % r;
}

const str = (v: Value): string | null => (typeof v === 'string' ? v : null);
const num = (v: Value): number | null => (typeof v === 'number' ? v : null);
const geometry = (v: Value): Geometry | undefined =>
  v && typeof v === 'object' && ('ring' in v || ('type' in v && 'coordinates' in v)) ? (fromGeoJson(v) ?? (v as Geometry)) : undefined;
const timePart = (v: Value, part: (d: Date) => number): number | null => {
  const t = asInstant(v);
  return t ? part(new Date(t.ms)) : null;
};

/** OGC 18-088 Table 10: the built-in functions. */
function call(name: string, a: readonly Value[]): Value {
  const [x, y, z] = a;
  switch (name) {
    case 'substringof':
      return str(x) !== null && str(y) !== null ? (y as string).includes(x as string) : false;
    case 'contains':
      return str(x) !== null && str(y) !== null ? (x as string).includes(y as string) : false;
    case 'startswith':
      return str(x) !== null && str(y) !== null ? (x as string).startsWith(y as string) : false;
    case 'endswith':
      return str(x) !== null && str(y) !== null ? (x as string).endsWith(y as string) : false;
    case 'length':
      return str(x)?.length ?? null;
    case 'indexof':
      return str(x) !== null && str(y) !== null ? (x as string).indexOf(y as string) : null;
    case 'substring':
      return str(x)?.substring(num(y) ?? 0, z === undefined ? undefined : (num(y) ?? 0) + (num(z) ?? 0)) ?? null;
    case 'tolower':
      return str(x)?.toLowerCase() ?? null;
    case 'toupper':
      return str(x)?.toUpperCase() ?? null;
    case 'trim':
      return str(x)?.trim() ?? null;
    case 'concat':
      return str(x) !== null && str(y) !== null ? (x as string) + (y as string) : null;
    case 'year':
      return timePart(x, (d) => d.getUTCFullYear());
    case 'month':
      return timePart(x, (d) => d.getUTCMonth() + 1);
    case 'day':
      return timePart(x, (d) => d.getUTCDate());
    case 'hour':
      return timePart(x, (d) => d.getUTCHours());
    case 'minute':
      return timePart(x, (d) => d.getUTCMinutes());
    case 'second':
      return timePart(x, (d) => d.getUTCSeconds());
    case 'round':
      return num(x) === null ? null : Math.round(x as number);
    case 'floor':
      return num(x) === null ? null : Math.floor(x as number);
    case 'ceiling':
      return num(x) === null ? null : Math.ceil(x as number);
    case 'geo.intersects':
    case 'st_intersects':
    case 'st_within': {
      const [g, h] = [geometry(x), geometry(y)];
      if (!g || !h) return false;
      return name === 'st_within' ? within(g, h) : intersects(g, h);
    }
    default:
      throw badQuery(`Unknown function ${name}`);
  }
}

/** The value of an expression for one entity. */
export function evaluate(e: Expr, resolve: Resolve): Value {
  switch (e.k) {
    case 'lit':
      return e.v;
    case 'time':
      return { ms: e.ms, end: e.ms };
    case 'geo':
      return e.g;
    case 'path':
      return resolve(e.p) as Value;
    case 'not':
      return evaluate(e.e, resolve) !== true;
    case 'call':
      return call(
        e.name,
        e.args.map((arg) => evaluate(arg, resolve)),
      );
    case 'bin': {
      if (e.op === 'and') return evaluate(e.l, resolve) === true && evaluate(e.r, resolve) === true;
      if (e.op === 'or') return evaluate(e.l, resolve) === true || evaluate(e.r, resolve) === true;
      const l = evaluate(e.l, resolve);
      const r = evaluate(e.r, resolve);
      if (['add', 'sub', 'mul', 'div', 'mod'].includes(e.op)) return arithmetic(e.op, l, r);
      return compare(e.op, l, r);
    }
  }
}

/** True when the entity passes the filter; no filter passes everything. */
export const passes = (filter: Expr | undefined, resolve: Resolve): boolean => !filter || evaluate(filter, resolve) === true;

/** Orders two values for $orderby: nulls first, times by instant, numbers and strings as themselves. */
export function orderValues(a: unknown, b: unknown): number {
  if (a == null || b == null) return a == null ? (b == null ? 0 : -1) : 1;
  const [ta, tb] = [asInstant(a as Value), asInstant(b as Value)];
  if (typeof a === 'string' && typeof b === 'string' && ta && tb) return ta.ms - tb.ms || ta.end - tb.end;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
}
