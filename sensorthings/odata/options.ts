import { badQuery, unsupported } from './errors.js';
import { parseFilter, parseOrderBy, type Expr, type OrderTerm } from './filter.js';

/** The system query options of one request or one $expand item (OGC 18-088 9.3). */
export interface QueryOptions {
  readonly top?: number | undefined;
  readonly skip: number;
  readonly count: boolean;
  readonly filter?: Expr | undefined;
  readonly orderby: readonly OrderTerm[];
  /** The properties to answer with; undefined: all of them. */
  readonly select?: readonly string[] | undefined;
  readonly expand: readonly ExpandItem[];
  /** Where a server-driven page continues (OData 4.0 Part 1, 11.2.5.7): ours, opaque to clients. */
  readonly skiptoken?: string | undefined;
  /** The options as given, name and value, for the @iot.nextLink that repeats them. */
  readonly raw: readonly (readonly [string, string])[];
}

/** One navigation property to expand, with its own options (OGC 18-088 9.3.2.1). */
export interface ExpandItem {
  readonly nav: string;
  readonly options: QueryOptions;
}

export const NO_OPTIONS: QueryOptions = { skip: 0, count: false, orderby: [], expand: [], raw: [] };

const integer = (name: string, text: string): number => {
  if (!/^\d+$/.test(text.trim())) throw badQuery(`${name} must be a whole number >= 0, not ${JSON.stringify(text)}`);
  return Number(text.trim());
};

/** Splits on `sep` outside parentheses and quoted strings. */
export function splitTopLevel(text: string, sep: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "'") quoted = !quoted;
    else if (quoted) continue;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === sep && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  if (depth !== 0 || quoted) throw badQuery(`Unbalanced parentheses or quotes in ${JSON.stringify(text)}`);
  parts.push(text.slice(start));
  return parts;
}

/**
 * OGC 18-088 9.3.2.1 $expand: `Datastreams($top=2;$expand=Observations),Locations`;
 * a path `Datastreams/Sensor` expands Datastreams and, inside each, its Sensor.
 */
export function parseExpand(text: string): ExpandItem[] {
  return splitTopLevel(text, ',').map((item) => {
    const m = /^\s*([\w/]+)\s*(?:\((.*)\))?\s*$/s.exec(item);
    if (!m?.[1]) throw badQuery(`$expand item ${JSON.stringify(item)} is not Nav or Nav(options)`);
    const [first, ...rest] = m[1].split('/');
    const own = m[2] === undefined ? NO_OPTIONS : parseOptions(splitTopLevel(m[2], ';').map(pair));
    if (!rest.length) return { nav: first as string, options: own };
    const inner = parseExpand(`${rest.join('/')}${m[2] === undefined ? '' : `(${m[2]})`}`);
    return { nav: first as string, options: { ...NO_OPTIONS, expand: inner, raw: [['$expand', `${rest.join('/')}${m[2] === undefined ? '' : `(${m[2]})`}`]] } };
  });
}

const pair = (text: string): [string, string] => {
  const eq = text.indexOf('=');
  if (eq < 0) throw badQuery(`${JSON.stringify(text)} is not name=value`);
  return [text.slice(0, eq).trim(), text.slice(eq + 1)];
};

/** The query options of a request or an $expand item; an unknown $option is 400 naming it. */
export function parseOptions(entries: Iterable<[string, string]>): QueryOptions {
  let options: QueryOptions = NO_OPTIONS;
  const seen = new Set<string>();
  for (const [name, value] of entries) {
    if (!name.startsWith('$')) continue; // OData 4.0 Part 2, 5: custom query options are ignored
    if (seen.has(name)) throw badQuery(`${name} is given twice`);
    seen.add(name);
    options = { ...options, ...option(name, value), raw: [...options.raw, [name, value]] };
  }
  return options;
}

function option(name: string, value: string): Partial<QueryOptions> {
  switch (name) {
    case '$top': // OGC 18-088 9.3.3.1
      return { top: integer(name, value) };
    case '$skip': // 9.3.3.2
      return { skip: integer(name, value) };
    case '$count': // 9.3.3.4
      if (value !== 'true' && value !== 'false') throw badQuery('$count must be true or false');
      return { count: value === 'true' };
    case '$orderby': // 9.3.3.3
      return { orderby: parseOrderBy(value) };
    case '$filter': // 9.3.3.5
      return { filter: parseFilter(value) };
    case '$select': // 9.3.2.2
      return { select: value.split(',').map((s) => s.trim()) };
    case '$expand': // 9.3.2.1
      return { expand: parseExpand(value) };
    case '$skiptoken':
      return { skiptoken: value };
    default:
      throw unsupported(`the query option ${name}`, 'supported: $top, $skip, $count, $orderby, $filter, $select, $expand');
  }
}
