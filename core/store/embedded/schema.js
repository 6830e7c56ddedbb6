// @ts-check
/**
 * The embedded reading database's schema. Plain JavaScript because the writer
 * worker loads it directly (a worker thread runs plain JS on every supported
 * Node version).
 */
export const SCHEMA = `
  CREATE TABLE IF NOT EXISTS readings (
    device_id  TEXT    NOT NULL,
    time       INTEGER NOT NULL,
    pilot_id   TEXT    NOT NULL,
    company_id TEXT    NOT NULL,
    testbed_id TEXT    NOT NULL,
    profile    TEXT    NOT NULL,
    vals       TEXT    NOT NULL,
    PRIMARY KEY (device_id, time)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS readings_pilot_time ON readings(pilot_id, time);

  CREATE TABLE IF NOT EXISTS rejections (
    id               INTEGER PRIMARY KEY,
    device_id        TEXT    NOT NULL,
    pilot_id         TEXT    NOT NULL,
    company_id       TEXT    NOT NULL,
    testbed_id       TEXT    NOT NULL,
    time             INTEGER NOT NULL,
    code             TEXT    NOT NULL,
    reason           TEXT    NOT NULL,
    payload          TEXT    NOT NULL,
    payload_encoding TEXT    NOT NULL,
    payload_bytes    INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX IF NOT EXISTS rejections_device_time ON rejections(device_id, time);
`;

/** @param {import('better-sqlite3').Database} db */
export function configure(db) {
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
}
