import { badQuery } from './errors.js';

/** One segment of a resource path: a name, with the key it addresses if any. */
export interface Segment {
  readonly name: string;
  /** The entity's id: `Things('dev_1')` (a string key) or `Things(7)` (a number key, as text). */
  readonly id?: string | undefined;
}

/**
 * OGC 18-088 9.2 resource path: `/Things`, `/Things('id')`,
 * `/Things('id')/Datastreams`, `/Things('id')/Datastreams('id')/Sensor`,
 * `/Datastreams('id')/Thing/name`, `/Things('id')/name/$value`,
 * `/Things('id')/Datastreams/$ref`. The batch and create-update-delete paths
 * are not supported.
 */
export function parsePath(path: string): Segment[] {
  const segments: Segment[] = [];
  for (const raw of path.split('/').filter((s) => s !== '')) {
    const text = decodeURIComponent(raw);
    const m = /^(\$?\w+)(?:\((.*)\))?$/s.exec(text);
    if (!m?.[1]) throw badQuery(`${JSON.stringify(text)} is not a resource path segment`);
    segments.push({ name: m[1], id: m[2] === undefined ? undefined : keyOf(m[2]) });
  }
  return segments;
}

/** A key in parentheses: a quoted string ('' is a quote) or a number. */
function keyOf(text: string): string {
  if (/^'.*'$/s.test(text)) return text.slice(1, -1).replaceAll("''", "'");
  if (/^-?\d+$/.test(text)) return text;
  throw badQuery(`The key ${text} is neither a quoted string nor a number`);
}
