import type { Expr } from './odata/filter.js';

/** The widest range a store query takes: the epoch up to the year 2100. */
export const ALL_TIME = { from: 0, to: Date.UTC(2100, 0, 1) };

const TIME_PATHS = new Set(['phenomenonTime', 'resultTime']);
const FLIP: Record<string, string> = { gt: 'lt', ge: 'le', lt: 'gt', le: 'ge', eq: 'eq' };

/**
 * The time range an Observations $filter confines itself to, read from the
 * comparisons of phenomenonTime (or resultTime, the same instant here) with a
 * time literal that are joined to the whole filter by `and`. The store reads
 * only that range from its time index; the filter is still applied to each
 * observation, so the range only narrows what is read.
 */
export function timeRangeOf(filter: Expr | undefined): { from: number; to: number } {
  const range = { ...ALL_TIME };
  const visit = (e: Expr): void => {
    if (e.k !== 'bin') return;
    if (e.op === 'and') return (visit(e.l), visit(e.r));
    let op: string = e.op;
    let [path, time] = [e.l, e.r];
    if (path.k === 'time' && time.k === 'path') [path, time, op] = [time, path, FLIP[op] ?? op];
    if (path.k !== 'path' || time.k !== 'time' || path.p.length !== 1 || !TIME_PATHS.has(path.p[0] as string)) return;
    const t = time.ms;
    if (op === 'gt') range.from = Math.max(range.from, t + 1);
    if (op === 'ge') range.from = Math.max(range.from, t);
    if (op === 'lt') range.to = Math.min(range.to, t);
    if (op === 'le') range.to = Math.min(range.to, t + 1);
    if (op === 'eq') {
      range.from = Math.max(range.from, t);
      range.to = Math.min(range.to, t + 1);
    }
  };
  visit(filter ?? { k: 'lit', v: true });
  return range;
}
