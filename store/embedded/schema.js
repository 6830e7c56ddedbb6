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

/**
 * Changes after the first schema, applied in order; `PRAGMA user_version`
 * counts those applied. Append; never edit one that has shipped.
 * @type {string[]}
 */
const MIGRATIONS = [
  // Rejections carry the key of where they came from, so recording one again keeps one record.
  `ALTER TABLE rejections ADD COLUMN source TEXT;
   CREATE UNIQUE INDEX IF NOT EXISTS rejections_source ON rejections(source);`,
  // The quality flag: names of the measurements outside their plausible range, comma-separated; NULL when none.
  `ALTER TABLE readings ADD COLUMN suspect TEXT;`,
  // The newest value of each measurement of each device, kept as readings are written, so that
  // /latest finds a measurement the newest reading lacks without scanning the history.
  // Filled from the readings already stored (SQLite takes the bare columns from the max(time) row).
  `CREATE TABLE latest (
     device_id   TEXT    NOT NULL,
     pilot_id    TEXT    NOT NULL,
     measurement TEXT    NOT NULL,
     company_id  TEXT    NOT NULL,
     testbed_id  TEXT    NOT NULL,
     time        INTEGER NOT NULL,
     value       REAL    NOT NULL,
     suspect     INTEGER NOT NULL,
     PRIMARY KEY (device_id, pilot_id, measurement)
   ) STRICT, WITHOUT ROWID;
   INSERT INTO latest (device_id, pilot_id, measurement, company_id, testbed_id, time, value, suspect)
     SELECT r.device_id, r.pilot_id, j.key, r.company_id, r.testbed_id, max(r.time), j.value,
            instr(',' || coalesce(r.suspect, '') || ',', ',' || j.key || ',') > 0
     FROM readings r, json_each(r.vals) j
     WHERE j.type IN ('integer', 'real')
     GROUP BY r.device_id, r.pilot_id, j.key;`,
  // The flags that need a device's history: the stuck measurements, comma-separated (NULL when none),
  // and 1 when the reading follows a silence (NULL otherwise).
  `ALTER TABLE readings ADD COLUMN stuck TEXT;
   ALTER TABLE readings ADD COLUMN gap INTEGER;`,
];

/**
 * Creates the schema and applies pending migrations, in one transaction.
 * @param {import('better-sqlite3').Database} db
 */
export function migrate(db) {
  db.transaction(() => {
    db.exec(SCHEMA);
    const applied = /** @type {number} */ (db.pragma('user_version', { simple: true }));
    for (let i = applied; i < MIGRATIONS.length; i++) db.exec(/** @type {string} */ (MIGRATIONS[i]));
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  }).immediate();
}

/** @param {import('better-sqlite3').Database} db */
export function configure(db) {
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
}
