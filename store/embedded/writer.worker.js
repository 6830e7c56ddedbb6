// @ts-check
/**
 * The embedded store's writer: a worker thread that owns the only writing
 * connection, so SQLite's synchronous disk work never runs on the event loop
 * that serves MQTT and HTTP. Each message is one batch, written in one
 * transaction; the reply says whether it committed.
 */
import { parentPort, workerData } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';
import { readingsOfBatch } from '../reading-codec.js';
import { configure, migrate } from './schema.js';

const db = new BetterSqlite3(workerData.file);
configure(db);
migrate(db);

// INSERT OR REPLACE: a reading of the same device and time is the same reading,
// so a retried batch stores it once.
const insertReading = db.prepare(
  'INSERT OR REPLACE INTO readings (device_id, time, pilot_id, company_id, testbed_id, profile, vals, suspect, stuck, gap) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
);
// The newest value of each measurement: a reading older than the one kept leaves it alone.
const upsertLatest = db.prepare(
  `INSERT INTO latest (device_id, pilot_id, measurement, company_id, testbed_id, time, value, suspect) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
   ON CONFLICT (device_id, pilot_id, measurement) DO UPDATE SET
     company_id = excluded.company_id, testbed_id = excluded.testbed_id, time = excluded.time, value = excluded.value, suspect = excluded.suspect
   WHERE excluded.time >= latest.time`,
);
const insertRejection = db.prepare(
  `INSERT OR IGNORE INTO rejections (device_id, pilot_id, company_id, testbed_id, time, code, reason, payload, payload_encoding, payload_bytes, source)
   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
);

const pruneRejections = db.prepare('DELETE FROM rejections WHERE time < ?');

const writeReadings = db.transaction((/** @type {any[]} */ rows) => {
  for (const r of rows) {
    insertReading.run(
      r.deviceId,
      r.time,
      r.pilotId,
      r.companyId,
      r.testbedId,
      r.profile,
      JSON.stringify(r.values),
      r.suspect?.length ? r.suspect.join(',') : null,
      r.stuck?.length ? r.stuck.join(',') : null,
      r.gap === true ? 1 : null,
    );
  }
  // The newest value of each measurement in the batch is the only one that can change `latest`:
  // one upsert per device, pilot and measurement, not one per reading.
  /** @type {Map<string, Map<string, Map<string, any>>>} device → pilot → measurement → newest reading */
  const newest = new Map();
  for (const r of rows) {
    let pilots = newest.get(r.deviceId);
    if (!pilots) newest.set(r.deviceId, (pilots = new Map()));
    let measurements = pilots.get(r.pilotId);
    if (!measurements) pilots.set(r.pilotId, (measurements = new Map()));
    for (const measurement in r.values) {
      const kept = measurements.get(measurement);
      if (!kept || r.time >= kept.time) measurements.set(measurement, r);
    }
  }
  for (const pilots of newest.values())
    for (const measurements of pilots.values())
      for (const [measurement, r] of measurements)
        upsertLatest.run(r.deviceId, r.pilotId, measurement, r.companyId, r.testbedId, r.time, r.values[measurement], r.suspect?.includes(measurement) ? 1 : 0);
});
const writeRejections = db.transaction((/** @type {any[]} */ rows) => {
  for (const r of rows) {
    insertRejection.run(r.deviceId, r.pilotId, r.companyId, r.testbedId, r.time, r.code, r.reason, r.payload, r.payloadEncoding, r.payloadBytes, r.key ?? null);
  }
});

// Deletion in slices: one message deletes at most `limit` rows, so batches of readings get in between.
const deleteSlice = db.prepare(
  `DELETE FROM readings WHERE (device_id, time) IN (SELECT device_id, time FROM readings WHERE pilot_id = ? AND time < ? LIMIT ?)`,
);
const deleteLatest = db.prepare('DELETE FROM latest WHERE pilot_id = ? AND time < ?');
const deleteRejections = db.prepare('DELETE FROM rejections WHERE pilot_id = ?');

/**
 * The maintenance operations: each returns what it changed.
 * @param {{ op: string, pilotId?: string, before?: number, limit?: number }} msg
 * @returns {number | undefined}
 */
function maintain(msg) {
  const before = msg.before ?? Number.MAX_SAFE_INTEGER;
  switch (msg.op) {
    case 'deleteSlice':
      return deleteSlice.run(msg.pilotId, before, msg.limit ?? 5000).changes;
    case 'deleteLatest':
      return deleteLatest.run(msg.pilotId, before).changes;
    case 'deleteRejections':
      return deleteRejections.run(msg.pilotId).changes;
    case 'vacuum':
      // Gives the freed pages back to the file system: deleted rows no longer sit in free pages of the file,
      // and the write-ahead log, which still holds the old pages' images, is emptied into it and cut to nothing.
      db.exec('VACUUM');
      db.pragma('wal_checkpoint(TRUNCATE)');
      return 0;
    default:
      return undefined;
  }
}

const port = parentPort;
if (!port) throw new Error('writer.worker.js must run as a worker thread');

port.on('message', (/** @type {{ id: number, op: string, rows?: any[], encoded?: Uint8Array, pilotId?: string, before?: number, limit?: number }} */ msg) => {
  try {
    if (msg.op === 'readings') writeReadings(msg.rows ?? []);
    else if (msg.op === 'encoded') {
      const bytes = msg.encoded ?? new Uint8Array();
      writeReadings(readingsOfBatch(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)));
    } else if (msg.op === 'rejections') writeRejections(msg.rows ?? []);
    else if (msg.op === 'prune') pruneRejections.run(msg.rows?.[0] ?? 0);
    else if (msg.op === 'close') {
      db.close();
      port.postMessage({ id: msg.id, ok: true });
      port.close();
      return;
    } else {
      const changed = maintain(msg);
      if (changed === undefined) throw new Error(`unknown operation ${msg.op}`);
      port.postMessage({ id: msg.id, ok: true, changed });
      return;
    }
    port.postMessage({ id: msg.id, ok: true });
  } catch (err) {
    const e = /** @type {{ message?: string, code?: string }} */ (err);
    port.postMessage({ id: msg.id, ok: false, message: e.message ?? String(err), code: e.code });
  }
});
port.postMessage({ id: 0, ok: true });
