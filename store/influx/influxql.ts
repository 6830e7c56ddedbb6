import { unhandled, type Scope } from '../../core/index.js';
import type { Selection } from '../types.js';

/**
 * Quotes text for InfluxQL. The scanner (influxql `ScanString`) knows the escapes
 * `\\` `\'` `\"` `\n` and rejects a bare line break, so those are all there is to
 * escape; nothing in an id can end the literal early and inject query text.
 */
function quote(text: string, mark: "'" | '"'): string {
  let out = mark;
  for (let i = 0; i < text.length; i++) {
    const c = text.charAt(i);
    if (c === '\\' || c === mark) out += '\\' + c;
    else if (c === '\n') out += '\\n';
    else out += c;
  }
  return out + mark;
}

/** An InfluxQL string literal: `'...'`. */
export const influxString = (text: string): string => quote(text, "'");

/** An InfluxQL identifier: `"..."`. */
export const influxIdent = (name: string): string => quote(name, '"');

/** InfluxDB keeps time as int64 nanoseconds; bounds outside that range are clamped to it. */
const MAX_MS = 9_223_372_036_854;
const msLiteral = (ms: number): string => `${Math.max(-MAX_MS, Math.min(MAX_MS, Math.trunc(ms)))}ms`;

/** `"tag" = 'a' OR "tag" = 'b' ...`, parenthesised. */
const anyOf = (tag: string, values: readonly string[]): string => `(${values.map((v) => `${influxIdent(tag)} = ${influxString(v)}`).join(' OR ')})`;

/**
 * The InfluxQL condition that limits a query of `select` to what `scope` may see:
 * the twin of `scopeAdmits` and of the SQL in scope-sql.ts. `null` when the scope
 * can see nothing of it (the query need not run); `''` when it adds nothing.
 * A research scope reading one pilot is settled here, without listing every
 * shared pilot in the query.
 */
export function scopeClause(scope: Scope, select: Selection): string | null {
  switch (scope.kind) {
    case 'all':
      return '';
    case 'company':
      return `"company" = ${influxString(scope.companyId)}`;
    case 'testbeds':
      return scope.testbedIds.length === 0 ? null : anyOf('testbed', scope.testbedIds);
    case 'research':
      if (select.kind === 'pilot') return scope.pilotIds.includes(select.pilotId) ? '' : null;
      return scope.pilotIds.length === 0 ? null : anyOf('pilot', scope.pilotIds);
    default:
      return unhandled(scope);
  }
}

/** The condition selecting a device's or a pilot's points, with the scope's; null when the scope sees none. */
export function whereOf(scope: Scope, select: Selection): string | null {
  const scoped = scopeClause(scope, select);
  if (scoped === null) return null;
  const target = select.kind === 'device' ? `"device" = ${influxString(select.deviceId)}` : `"pilot" = ${influxString(select.pilotId)}`;
  return scoped === '' ? target : `${target} AND ${scoped}`;
}

/** A time bound for a WHERE clause. */
export const timeIs = (op: '>=' | '>' | '<' | '=', ms: number): string => `time ${op} ${msLiteral(ms)}`;

export interface Series {
  readonly tags?: Readonly<Record<string, string>>;
  readonly columns?: readonly string[];
  readonly values?: readonly (readonly unknown[])[];
}
export interface StatementResult {
  readonly error?: string;
  readonly series?: readonly Series[];
}
/** The JSON of `GET /query`: `{"results":[{"statement_id":0,"series":[...]}]}` or `{"error":"..."}`. */
export interface QueryResponse {
  readonly error?: string;
  readonly results?: readonly StatementResult[];
}

/** The result of statement `n` of a request, or the error InfluxDB reported for the request or that statement. */
export function resultAt(body: QueryResponse, n: number): StatementResult {
  if (typeof body.error === 'string') throw new Error(body.error);
  const result = body.results?.[n];
  if (!result) throw new Error(`the response holds no result for statement ${n}`);
  if (typeof result.error === 'string') throw new Error(result.error);
  return result;
}

/** The first statement's result (see resultAt). */
export const firstResult = (body: QueryResponse): StatementResult => resultAt(body, 0);
