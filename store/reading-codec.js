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

/** Where a one-reading record is written before it is copied out; grown when a record needs more. */
let scratch = Buffer.allocUnsafeSlow(4096);

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
  // Besides these: four numbers of at most 16 digits each and the punctuation, within 128 bytes.
  const most = tags.bytes.length + (device?.length ?? 0) + Buffer.byteLength(values) + Buffer.byteLength(flags) + 128;
  if (scratch.length < most) scratch = Buffer.allocUnsafeSlow(most * 2);
  const b = scratch;
  let pos = b.write('{"a":', 0, 'latin1');
  pos = writeInteger(b, pos, at);
  pos += b.write(',"t":', pos, 'latin1');
  pos += tags.bytes.copy(b, pos);
  pos += b.write(',"r":[[', pos, 'latin1');
  pos = writeInteger(b, pos, r.time);
  b[pos++] = 0x2c; // ,
  pos += b.write(values, pos, 'utf8');
  if (flags) pos += b.write(flags, pos, 'utf8');
  pos += b.write(']]', pos, 'latin1');
  if (key) {
    pos += b.write(',"k":[', pos, 'latin1');
    pos += /** @type {Buffer} */ (device).copy(b, pos);
    b[pos++] = 0x2c;
    pos = writeInteger(b, pos, key[1]);
    b[pos++] = 0x2c;
    pos = writeInteger(b, pos, key[2]);
    b[pos++] = 0x5d; // ]
  }
  b[pos++] = 0x7d; // }
  const record = Buffer.allocUnsafe(pos);
  b.copy(record, 0, 0, pos);
  return record;
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
