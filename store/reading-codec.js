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
 * The record as UTF-8 bytes (see the format above).
 * @param {number} at
 * @param {readonly Reading[]} readings
 * @param {readonly Rejection[]} rejections
 * @param {MessageKey | undefined} key
 * @returns {Buffer}
 */
export function encodeRecord(at, readings, rejections, key) {
  const first = readings[0];
  if (readings.length === 1 && rejections.length === 0 && first && Number.isSafeInteger(at) && Number.isSafeInteger(first.time)) {
    return encodeOne(at, first, key);
  }
  return Buffer.from(encodeText(at, readings, rejections, key));
}

/** Records are written one after another into a slab and handed out as views of it: no copy, no allocation each. */
const SLAB_BYTES = 64 * 1024;
let slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
let slabUsed = 0;

const A = ascii('{"a":');
const T = ascii(',"t":');
const R = ascii(',"r":[[');
const R_END = ascii(']]');
const K = ascii(',"k":[');

/**
 * The common record, one reading of one message, written as bytes: no string
 * is built for it but its values' JSON (the text form cost about 600 bytes of
 * garbage per reading, in pieces of strings joined).
 * @param {number} at
 * @param {Reading} r
 * @param {MessageKey | undefined} key
 */
function encodeOne(at, r, key) {
  const tags = tagsOf(r);
  const values = JSON.stringify(r.values);
  const flags = compactFlags(r);
  const device = !key ? undefined : key[0] === r.deviceId ? tags.device : Buffer.from(JSON.stringify(key[0]));
  // Besides these: four numbers of at most 16 digits each and the punctuation, within 128 bytes
  // (a UTF-16 code unit is at most three bytes of UTF-8).
  const most = tags.bytes.length + (device?.length ?? 0) + 3 * (values.length + flags.length) + 128;
  if (SLAB_BYTES - slabUsed < most) {
    slab = Buffer.allocUnsafeSlow(Math.max(SLAB_BYTES, most));
    slabUsed = 0;
  }
  const b = slab;
  const start = slabUsed;
  let pos = put(b, start, A);
  pos = writeInteger(b, pos, at);
  pos = put(b, pos, T);
  pos = put(b, pos, tags.bytes);
  pos = put(b, pos, R);
  pos = writeInteger(b, pos, r.time);
  b[pos++] = 0x2c; // ,
  pos = writeText(b, pos, values);
  if (flags) pos = writeText(b, pos, flags);
  pos = put(b, pos, R_END);
  if (key) {
    pos = put(b, pos, K);
    pos = put(b, pos, /** @type {Buffer} */ (device));
    b[pos++] = 0x2c;
    pos = writeInteger(b, pos, key[1]);
    b[pos++] = 0x2c;
    pos = writeInteger(b, pos, key[2]);
    b[pos++] = 0x5d; // ]
  }
  b[pos++] = 0x7d; // }
  slabUsed = pos;
  return b.subarray(start, pos);
}

/** @param {string} text ASCII */
function ascii(text) {
  return Buffer.from(text, 'latin1');
}

/**
 * Copies `bytes` to `at`; returns where they end. A loop, not `copy`: the pieces
 * are short and a call into the runtime costs more than copying them here.
 * @param {Buffer} b @param {number} at @param {Uint8Array} bytes
 */
function put(b, at, bytes) {
  for (let i = 0; i < bytes.length; i++) b[at + i] = /** @type {number} */ (bytes[i]);
  return at + bytes.length;
}

/**
 * Writes `text` as UTF-8 at `at`; returns where it ends. ASCII, the usual
 * case for JSON of measurement names and numbers, is copied here.
 * @param {Buffer} b @param {number} at @param {string} text
 */
function writeText(b, at, text) {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) return at + b.write(text, at, 'utf8');
    b[at + i] = c;
  }
  return at + text.length;
}

/**
 * Writes a non-negative safe integer's decimal digits at `at`; returns where they end.
 * @param {Buffer} b @param {number} at @param {number} n
 */
function writeInteger(b, at, n) {
  if (n < 0 || !Number.isSafeInteger(n)) return at + b.write(String(n), at, 'latin1');
  let digits = 1;
  for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
  let end = at + digits;
  let x = n;
  do {
    b[--end] = 0x30 + (x % 10);
    x = Math.floor(x / 10);
  } while (x > 0);
  return at + digits;
}

/**
 * The record as text: any number of readings, rejections.
 * @param {number} at
 * @param {readonly Reading[]} readings
 * @param {readonly Rejection[]} rejections
 * @param {MessageKey | undefined} key
 * @returns {string}
 */
function encodeText(at, readings, rejections, key) {
  const first = readings[0];
  let out = `{"a":${at}`;
  if (first) {
    out += `,"t":${tagsOf(first).json},"r":[`;
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
/** @type {Map<string, { r: Reading, json: string, bytes: Buffer, device: Buffer }>} the tags' JSON by device (text and bytes, and the device id's): the same six strings on each of its records */
const tagsMemo = new Map();

/** @param {Reading} first */
function tagsOf(first) {
  const kept = tagsMemo.get(first.deviceId);
  if (kept && sameTags(kept.r, first)) return kept;
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
  const tags = { r, json, bytes: Buffer.from(json), device: Buffer.from(JSON.stringify(first.deviceId)) };
  tagsMemo.set(first.deviceId, tags);
  return tags;
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
  return `[${r.time},${JSON.stringify(r.values)}${compactFlags(r)}]`;
}

/**
 * A compact reading's flags after its values: `,suspect,stuck,gap`, cut after the last one raised.
 * @param {Reading} r
 */
function compactFlags(r) {
  if (r.gap) return `,${flag(r.suspect)},${flag(r.stuck)},1`;
  if (r.stuck?.length) return `,${flag(r.suspect)},${flag(r.stuck)}`;
  if (r.suspect?.length) return `,${flag(r.suspect)}`;
  return '';
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

/** The byte between two records of a batch: JSON text never holds a raw newline. */
export const RECORD_SEPARATOR = 0x0a;

/**
 * The readings of a batch of records (their UTF-8 bytes, one after another,
 * each followed by a newline), in order. Each record is decoded on its own:
 * short strings, where one string of the whole batch (hundreds of KiB) took
 * V8 about five times as long to build.
 * @param {Buffer} batch
 * @returns {Reading[]}
 */
export function readingsOfBatch(batch) {
  /** @type {Reading[]} */
  const readings = [];
  let at = 0;
  while (at < batch.length) {
    let end = batch.indexOf(RECORD_SEPARATOR, at);
    if (end < 0) end = batch.length;
    if (end > at) {
      const record = JSON.parse(batch.toString('utf8', at, end));
      const t = record.t;
      const r = record.r;
      if (r) for (let i = 0; i < r.length; i++) readings.push(readingOf(t, r[i]));
    }
    at = end + 1;
  }
  return readings;
}
