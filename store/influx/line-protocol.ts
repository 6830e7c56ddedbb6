import type { Reading } from '../types.js';

/** The one measurement every reading is written to. */
export const MEASUREMENT = 'readings';

/** Tag keys, in the order they are written (sorted by key, as InfluxDB prefers). */
export const TAG_KEYS = ['company', 'device', 'device_name', 'pilot', 'profile', 'testbed'] as const;

/**
 * The tag of the device's display name, or its id when it has none, for
 * dashboards' legends (Grafana's `$tag_device_name`). Every read of ours selects and groups by `device` (the
 * id) only, so a renamed device, whose new points form a new series, still
 * reads back as one device.
 */
export const DEVICE_NAME_TAG = 'device_name';

/**
 * The string field that holds a reading's quality flag, e.g. `suspect="pm25,pm10"`:
 * a field, not a tag, so it adds no series. No measurement may have this name
 * (device-profiles/format.ts reserves it).
 */
export const SUSPECT_FIELD = 'suspect';
/** The string field of the stuck flag, e.g. `stuck="temperature"`, like `suspect`. */
export const STUCK_FIELD = 'stuck';
/** The boolean field of the gap flag, `gap=true`, written only when raised. */
export const GAP_FIELD = 'gap';
/** The fields that hold flags rather than measurements (device-profiles/format.ts reserves their names). */
export const FLAG_FIELDS: ReadonlySet<string> = new Set([SUSPECT_FIELD, STUCK_FIELD, GAP_FIELD]);

/** A list flag as a line protocol string field value (quotes and backslashes escaped). */
const listField = (key: string, names: readonly string[]): string => ',' + key + '="' + names.join(',').replace(/[\\"]/g, '\\$&') + '"';

/** A reading that cannot be put into line protocol without changing what it says. */
export class Unwritable {
  constructor(readonly reason: string) {}
}

/** Characters that make a tag value or field key take the slow path. */
const SPECIAL = /[\\, =\n\r]/;

/**
 * Escapes a tag value or field key, or returns undefined when the server could
 * not store it exactly. Escaping here is what keeps a device id from forging a tag.
 *
 * Why not the client's `escape.tag`: it turns tab, CR and LF into the two-character
 * sequences `\t`, `\r`, `\n`, which InfluxDB 1.x stores literally (so the id would not
 * round-trip), and it leaves a backslash before a comma unguarded, so an id ending
 * in `\` would escape the comma after it and swallow the next tag.
 *
 * InfluxDB 1.x (checked against 1.6.7) unescapes only `\,` `\ ` `\=` `\"` and keeps
 * every other backslash as it is. So a backslash is written bare unless it comes
 * last, or before another backslash, one of those four characters or a line break:
 * no byte sequence stores those exactly, and such a value is refused, not guessed at.
 */
export function escapeKeyOrTag(value: string): string | undefined {
  if (!SPECIAL.test(value)) return value;
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value.charAt(i);
    if (c === ',' || c === ' ' || c === '=') out += '\\' + c;
    else if (c === '\n' || c === '\r') return undefined;
    else if (c === '\\') {
      const next = value.charAt(i + 1);
      if (next === '' || next === '\\' || next === ',' || next === ' ' || next === '=' || next === '"' || next === '\n' || next === '\r') {
        return undefined;
      }
      out += c;
    } else out += c;
  }
  return out;
}

/**
 * A field key. A `"` in the field section can open a quoted string value that runs
 * past the end of the line, so it is refused rather than escaped; the keys come
 * from device profiles and are plain names in practice.
 */
function fieldKey(name: string): string | undefined {
  return name.includes('"') ? undefined : escapeKeyOrTag(name);
}

/** `,key=value`; '' for an empty value (InfluxDB has no empty tag values: InfluxQL matches '' against an absent tag). */
function tag(key: string, value: string): string | undefined {
  if (value === '') return '';
  const escaped = escapeKeyOrTag(value);
  return escaped === undefined ? undefined : ',' + key + '=' + escaped;
}

/** Which tag made `toLine` give up; only called on that rare path. */
function unwritableTag(r: Reading): Unwritable {
  const values: Record<Exclude<(typeof TAG_KEYS)[number], 'device_name'>, string> = {
    company: r.companyId,
    device: r.deviceId,
    pilot: r.pilotId,
    profile: r.profile,
    testbed: r.testbedId,
  };
  const key = (Object.keys(values) as (keyof typeof values)[]).find((k) => tag(k, values[k]) === undefined) ?? 'device';
  return new Unwritable(`the ${key} tag ${JSON.stringify(values[key])} cannot be stored exactly in InfluxDB line protocol`);
}

/**
 * One line of line protocol for a reading, e.g.
 * `readings,company=co,device=d1,device_name=Lamp\ post\ 7,pilot=p,profile=air-quality,testbed=hel pm2_5=12.5,t=-3 1735689600000`.
 *
 * Field values are bare numbers, which line protocol reads as floats (an integer
 * needs an `i` suffix), so `5` never creates an integer field. JavaScript's
 * `String(number)` is the shortest text that parses back to the same double, so
 * values round-trip exactly. The timestamp is epoch ms (the write uses precision=ms).
 */
export function toLine(r: Reading): string | Unwritable {
  // In TAG_KEYS order, spelled out to keep the hot path free of temporary arrays.
  const company = tag('company', r.companyId);
  const device = tag('device', r.deviceId);
  const pilot = tag('pilot', r.pilotId);
  const profile = tag('profile', r.profile);
  const testbed = tag('testbed', r.testbedId);
  if (company === undefined || device === undefined || pilot === undefined || profile === undefined || testbed === undefined) {
    return unwritableTag(r);
  }
  // A device without a name, or with one line protocol cannot hold exactly (a line break, an
  // awkward backslash), is labelled by its id rather than refused: the name only labels dashboards.
  const name = (r.deviceName ? tag(DEVICE_NAME_TAG, r.deviceName) : undefined) ?? tag(DEVICE_NAME_TAG, r.deviceId) ?? '';
  let line = MEASUREMENT + company + device + name + pilot + profile + testbed;
  let sep = ' ';
  for (const name in r.values) {
    const value = r.values[name];
    if (typeof value !== 'number' || !Number.isFinite(value)) return new Unwritable(`value ${name} is not a finite number`);
    const key = fieldKey(name);
    if (key === undefined) return new Unwritable(`value name ${JSON.stringify(name)} cannot be stored exactly in InfluxDB line protocol`);
    line += sep + key + '=' + String(value);
    sep = ',';
  }
  if (sep === ' ') return new Unwritable('the reading has no values');
  if (r.suspect?.length) line += listField(SUSPECT_FIELD, r.suspect);
  if (r.stuck?.length) line += listField(STUCK_FIELD, r.stuck);
  if (r.gap === true) line += ',' + GAP_FIELD + '=true';
  // Line protocol timestamps are integers; sub-millisecond parts are not kept.
  return line + ' ' + String(Math.floor(r.time));
}
