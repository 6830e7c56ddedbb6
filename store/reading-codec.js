// @ts-check
/**
 * The compact record of one message's outcome, as the ingest queue writes it
 * to its journal and hands it, unparsed, to the embedded store's writer
 * thread. Plain JavaScript because that worker loads it directly.
 *
 *   {"a":at,"t":[deviceId,pilotId,companyId,testbedId,profile,deviceName],
 *    "r":[[time,values,suspect?,stuck?,gap?], ...],"j":[rejection, ...],"k":[deviceId,messageId,hash]}
 *
 * The readings of one message share their device, so its tags are written
 * once (`t`) and each reading is a short array; a reading whose tags differ
 * is written whole. Flags absent from a reading are 0, or left off the end.
 * Records written before this format (`r` holding whole readings, no `t`)
 * read back the same way.
 */

/** @typedef {import('./types.js').Reading} Reading */
/** @typedef {import('./types.js').Rejection} Rejection */
/** @typedef {readonly [deviceId: string, messageId: number, hash: number]} MessageKey */
/**
 * @typedef {object} DecodedRecord
 * @property {number} at Epoch ms the message was received.
 * @property {readonly Reading[]} readings
 * @property {readonly Rejection[]} rejections
 * @property {MessageKey | undefined} key
 */

/**
 * @param {number} at
 * @param {readonly Reading[]} readings
 * @param {readonly Rejection[]} rejections
 * @param {MessageKey | undefined} key
 * @returns {string}
 */
export function encodeRecord(at, readings, rejections, key) {
  const first = readings[0];
  let out = `{"a":${at}`;
  if (first) {
    out += `,"t":${tagsOf(first)},"r":[`;
    for (let i = 0; i < readings.length; i++) {
      const r = /** @type {Reading} */ (readings[i]);
      if (i > 0) out += ',';
      out += sameTags(r, first) ? compact(r) : JSON.stringify(r);
    }
    out += ']';
  }
  if (rejections.length > 0) out += `,"j":${JSON.stringify(rejections)}`;
  if (key) out += `,"k":${JSON.stringify(key)}`;
  return `${out}}`;
}

/** Devices whose tags' JSON is kept at most; past it the memo starts again. */
const TAGS_KEPT = 4096;
/** @type {Map<string, { r: Reading, json: string }>} the tags' JSON by device: the same six strings on each of its records */
const tagsMemo = new Map();

/** @param {Reading} first */
function tagsOf(first) {
  const kept = tagsMemo.get(first.deviceId);
  if (kept && sameTags(kept.r, first)) return kept.json;
  const json = JSON.stringify([first.deviceId, first.pilotId, first.companyId, first.testbedId, first.profile, first.deviceName ?? null]);
  if (tagsMemo.size >= TAGS_KEPT) tagsMemo.clear();
  // Only the tags are kept of the reading, not its values.
  const r = /** @type {Reading} */ ({
    deviceId: first.deviceId,
    pilotId: first.pilotId,
    companyId: first.companyId,
    testbedId: first.testbedId,
    profile: first.profile,
    deviceName: first.deviceName,
  });
  tagsMemo.set(first.deviceId, { r, json });
  return json;
}

/** @param {Reading} r @param {Reading} first */
function sameTags(r, first) {
  return (
    r.deviceId === first.deviceId &&
    r.pilotId === first.pilotId &&
    r.companyId === first.companyId &&
    r.testbedId === first.testbedId &&
    r.profile === first.profile &&
    (r.deviceName ?? null) === (first.deviceName ?? null)
  );
}

/** @param {Reading} r */
function compact(r) {
  const out = `[${r.time},${JSON.stringify(r.values)}`;
  if (r.gap) return `${out},${flag(r.suspect)},${flag(r.stuck)},1]`;
  if (r.stuck?.length) return `${out},${flag(r.suspect)},${flag(r.stuck)}]`;
  if (r.suspect?.length) return `${out},${flag(r.suspect)}]`;
  return `${out}]`;
}

/** @param {readonly string[] | undefined} names */
function flag(names) {
  return names?.length ? JSON.stringify(names) : '0';
}

/**
 * @param {any} t the record's tags
 * @param {any} r one reading, compact or whole
 * @returns {Reading}
 */
function readingOf(t, r) {
  if (!Array.isArray(r) || !t) return r;
  const [time, values, suspect, stuck, gap] = r;
  /** @type {any} */
  const reading = { deviceId: t[0], pilotId: t[1], companyId: t[2], testbedId: t[3], profile: t[4], time, values };
  if (suspect) reading.suspect = suspect;
  if (stuck) reading.stuck = stuck;
  if (gap) reading.gap = true;
  if (t[5] !== null) reading.deviceName = t[5];
  return reading;
}

/**
 * Reads a record back; undefined when it is not one (never for a journal frame whose checksum held).
 * @param {string} text
 * @returns {DecodedRecord | undefined}
 */
export function decodeRecord(text) {
  /** @type {any} */
  let encoded;
  try {
    encoded = JSON.parse(text);
  } catch {
    return undefined;
  }
  const t = encoded.t;
  return { at: encoded.a, readings: (encoded.r ?? []).map((/** @type {any} */ r) => readingOf(t, r)), rejections: encoded.j ?? [], key: encoded.k };
}

/**
 * The readings of a batch of records joined as one JSON array (`[record,record,...]`), in order.
 * @param {string} batch
 * @returns {Reading[]}
 */
export function readingsOfBatch(batch) {
  /** @type {any[]} */
  const records = JSON.parse(batch);
  /** @type {Reading[]} */
  const readings = [];
  for (const record of records) for (const r of record.r ?? []) readings.push(readingOf(record.t, r));
  return readings;
}
