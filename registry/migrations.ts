import type { Database } from 'better-sqlite3';

/**
 * Schema migrations, applied in order on start. `PRAGMA user_version` records
 * how many have run. Append new migrations; never edit one that has shipped.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE testbeds (
    id   TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    city TEXT NOT NULL
  ) STRICT;

  CREATE TABLE companies (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE pilots (
    id         TEXT PRIMARY KEY,
    company_id TEXT NOT NULL REFERENCES companies(id),
    testbed_id TEXT NOT NULL REFERENCES testbeds(id),
    name       TEXT NOT NULL,
    starts_at  INTEGER,
    ends_at    INTEGER,
    created_at INTEGER NOT NULL,
    CHECK (starts_at IS NULL OR ends_at IS NULL OR starts_at < ends_at)
  ) STRICT;
  CREATE INDEX pilots_company ON pilots(company_id);

  CREATE TABLE devices (
    id          TEXT PRIMARY KEY,
    pilot_id    TEXT NOT NULL REFERENCES pilots(id),
    company_id  TEXT NOT NULL REFERENCES companies(id),
    testbed_id  TEXT NOT NULL REFERENCES testbeds(id),
    profile     TEXT NOT NULL,
    name        TEXT,
    username    TEXT NOT NULL UNIQUE,
    secret_hash BLOB NOT NULL,
    created_at  INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX devices_pilot ON devices(pilot_id);
  CREATE INDEX devices_company ON devices(company_id);

  CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    secret_hash BLOB NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('admin', 'company')),
    company_id  TEXT REFERENCES companies(id),
    name        TEXT,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER,
    CHECK ((role = 'company') = (company_id IS NOT NULL))
  ) STRICT;
  `,
  // 2: four roles with scoped, expiring, read-only keys; pilot sharing and early end;
  // device secret rotation and revocation; the access audit log; stored secrets.
  // SQLite cannot change a CHECK, so api_keys is rebuilt (nothing references it).
  `
  CREATE TABLE api_keys_v2 (
    id          TEXT PRIMARY KEY,
    secret_hash BLOB NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'company', 'researcher')),
    company_id  TEXT REFERENCES companies(id),
    testbed_ids TEXT CHECK (testbed_ids IS NULL OR json_valid(testbed_ids)),
    name        TEXT,
    read_only   INTEGER NOT NULL DEFAULT 0 CHECK (read_only IN (0, 1)),
    expires_at  INTEGER,
    created_by  TEXT,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER,
    CHECK ((role = 'company') = (company_id IS NOT NULL)),
    CHECK (role <> 'operator' OR testbed_ids IS NOT NULL)
  ) STRICT;
  INSERT INTO api_keys_v2 (id, secret_hash, role, company_id, name, created_at, revoked_at)
    SELECT id, secret_hash, role, company_id, name, created_at, revoked_at FROM api_keys;
  DROP TABLE api_keys;
  ALTER TABLE api_keys_v2 RENAME TO api_keys;
  CREATE INDEX api_keys_company ON api_keys(company_id);

  ALTER TABLE pilots ADD COLUMN sharing TEXT NOT NULL DEFAULT 'private' CHECK (sharing IN ('private', 'research', 'open'));
  ALTER TABLE pilots ADD COLUMN ended_at INTEGER;
  CREATE INDEX pilots_testbed ON pilots(testbed_id);
  CREATE INDEX pilots_shared ON pilots(sharing) WHERE sharing <> 'private';

  ALTER TABLE devices ADD COLUMN secret_rotated_at INTEGER;
  ALTER TABLE devices ADD COLUMN revoked_at INTEGER;
  CREATE INDEX devices_testbed ON devices(testbed_id);

  CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    time       INTEGER NOT NULL,
    key_id     TEXT NOT NULL,
    role       TEXT NOT NULL,
    action     TEXT NOT NULL CHECK (action IN ('read', 'change')),
    method     TEXT NOT NULL,
    route      TEXT NOT NULL,
    url        TEXT NOT NULL,
    status     INTEGER NOT NULL,
    company_id TEXT,
    testbed_id TEXT,
    pilot_id   TEXT,
    device_id  TEXT
  ) STRICT;
  CREATE INDEX audit_time ON audit_log(time);
  CREATE INDEX audit_testbed ON audit_log(testbed_id, time);

  CREATE TABLE secrets (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
  ) STRICT;
  `,
  // 3: open data: an embargo, licence, attribution and location precision on pilots;
  // device location, placement and field dates, with the location history; what a
  // change changed, in the audit log.
  `
  ALTER TABLE pilots ADD COLUMN open_from INTEGER;
  ALTER TABLE pilots ADD COLUMN embargo_sharing TEXT NOT NULL DEFAULT 'private' CHECK (embargo_sharing IN ('private', 'research'));
  ALTER TABLE pilots ADD COLUMN licence TEXT;
  ALTER TABLE pilots ADD COLUMN attribution TEXT;
  ALTER TABLE pilots ADD COLUMN citation TEXT;
  ALTER TABLE pilots ADD COLUMN location_precision_m REAL CHECK (location_precision_m IS NULL OR location_precision_m > 0);

  ALTER TABLE devices ADD COLUMN lon REAL;
  ALTER TABLE devices ADD COLUMN lat REAL;
  ALTER TABLE devices ADD COLUMN alt REAL;
  ALTER TABLE devices ADD COLUMN placement TEXT;
  ALTER TABLE devices ADD COLUMN installed_at INTEGER;
  ALTER TABLE devices ADD COLUMN removed_at INTEGER;

  CREATE TABLE device_locations (
    device_id  TEXT NOT NULL REFERENCES devices(id),
    company_id TEXT NOT NULL,
    testbed_id TEXT NOT NULL,
    pilot_id   TEXT NOT NULL,
    lon        REAL NOT NULL,
    lat        REAL NOT NULL,
    alt        REAL,
    valid_from INTEGER NOT NULL,
    valid_to   INTEGER,
    PRIMARY KEY (device_id, valid_from),
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
  ) STRICT;
  CREATE INDEX device_locations_pilot ON device_locations(pilot_id);

  ALTER TABLE audit_log ADD COLUMN detail TEXT;
  `,
  // 4: commands to devices, kept until answered or expired. seq is the order they
  // were sent in, which is the order they are delivered in.
  `
  CREATE TABLE commands (
    seq          INTEGER PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    device_id    TEXT NOT NULL REFERENCES devices(id),
    pilot_id     TEXT NOT NULL,
    company_id   TEXT NOT NULL,
    testbed_id   TEXT NOT NULL,
    name         TEXT NOT NULL,
    params       TEXT NOT NULL CHECK (json_valid(params)),
    status       TEXT NOT NULL CHECK (status IN ('queued', 'delivered', 'succeeded', 'failed', 'expired')),
    sent_by      TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    delivered_at INTEGER,
    finished_at  INTEGER,
    result       TEXT CHECK (result IS NULL OR json_valid(result)),
    error        TEXT
  ) STRICT;
  CREATE INDEX commands_device ON commands(device_id, seq);
  CREATE INDEX commands_open ON commands(expires_at) WHERE status IN ('queued', 'delivered');
  `,
  // 5: device health (kept across restarts), connection and status events, alert rules and alerts.
  `
  CREATE TABLE device_health (
    device_id            TEXT PRIMARY KEY REFERENCES devices(id),
    online               INTEGER NOT NULL DEFAULT 0,
    last_connected_at    INTEGER,
    last_disconnected_at INTEGER,
    disconnect_reason    TEXT,
    last_seen            INTEGER,
    last_reading_at      INTEGER,
    status               TEXT NOT NULL DEFAULT 'never',
    late_ms              INTEGER,
    silent_ms            INTEGER,
    battery              REAL,
    battery_low          INTEGER,
    signal               REAL
  ) STRICT;
  CREATE INDEX device_health_reading ON device_health(last_reading_at);

  CREATE TABLE device_events (
    id        INTEGER PRIMARY KEY,
    device_id TEXT NOT NULL REFERENCES devices(id),
    time      INTEGER NOT NULL,
    type      TEXT NOT NULL,
    detail    TEXT NOT NULL
  ) STRICT;
  CREATE INDEX device_events_device ON device_events(device_id, time);

  CREATE TABLE alert_rules (
    id           TEXT PRIMARY KEY,
    name         TEXT,
    condition    TEXT NOT NULL,
    threshold    REAL,
    hold_ms      INTEGER NOT NULL,
    company_id   TEXT,
    testbed_id   TEXT NOT NULL,
    pilot_id     TEXT,
    created_at   INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE alerts (
    id          TEXT PRIMARY KEY,
    rule_id     TEXT NOT NULL,
    condition   TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('open', 'resolved')),
    opened_at   INTEGER NOT NULL,
    resolved_at INTEGER,
    device_id   TEXT,
    company_id  TEXT,
    testbed_id  TEXT NOT NULL,
    pilot_id    TEXT,
    message     TEXT NOT NULL
  ) STRICT;
  CREATE INDEX alerts_state ON alerts(state, opened_at);
  `,
  // 6: webhooks and their outbox. A webhook sits where its target sits (see core/webhooks.ts);
  // its signing secret is kept as given, since every delivery is signed with it.
  `
  CREATE TABLE webhooks (
    id         TEXT PRIMARY KEY,
    url        TEXT NOT NULL,
    events     TEXT NOT NULL CHECK (json_valid(events)),
    secret     TEXT NOT NULL,
    company_id TEXT REFERENCES companies(id),
    testbed_id TEXT REFERENCES testbeds(id),
    pilot_id   TEXT REFERENCES pilots(id),
    created_by TEXT,
    created_at INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE webhook_messages (
    id              TEXT PRIMARY KEY,
    webhook_id      TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event_type      TEXT NOT NULL,
    body            TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER
  ) STRICT;
  CREATE INDEX webhook_messages_due ON webhook_messages(next_attempt_at) WHERE state = 'pending';
  CREATE INDEX webhook_messages_hook ON webhook_messages(webhook_id, created_at);

  CREATE TABLE webhook_attempts (
    message_id      TEXT NOT NULL REFERENCES webhook_messages(id) ON DELETE CASCADE,
    attempt         INTEGER NOT NULL,
    at              INTEGER NOT NULL,
    status_code     INTEGER,
    error           TEXT,
    duration_ms     REAL NOT NULL,
    next_attempt_at INTEGER,
    PRIMARY KEY (message_id, attempt)
  ) STRICT;
  `,
  // 7: a device's desired configuration (set through the API, versioned) and the one it reports.
  `
  CREATE TABLE device_config (
    device_id        TEXT PRIMARY KEY REFERENCES devices(id),
    desired          TEXT CHECK (desired IS NULL OR json_valid(desired)),
    desired_version  INTEGER NOT NULL DEFAULT 0,
    desired_at       INTEGER,
    desired_by       TEXT,
    reported         TEXT CHECK (reported IS NULL OR json_valid(reported)),
    reported_version INTEGER,
    reported_at      INTEGER
  ) STRICT;
  CREATE INDEX device_config_desired_at ON device_config(desired_at) WHERE desired IS NOT NULL;
  `,
  // 8: the end of a pilot: export bundles, erasures (resumed after a crash) and their signed receipts;
  // how long readings are kept, per pilot and as a testbed's default.
  `
  CREATE TABLE exports (
    id               TEXT PRIMARY KEY,
    pilot_id         TEXT NOT NULL REFERENCES pilots(id),
    company_id       TEXT NOT NULL,
    testbed_id       TEXT NOT NULL,
    requested_by     TEXT NOT NULL,
    state            TEXT NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'done', 'failed')),
    readings_written INTEGER NOT NULL DEFAULT 0,
    readings_total   INTEGER NOT NULL DEFAULT 0,
    bytes            INTEGER,
    sha256           TEXT,
    manifest_sha256  TEXT,
    error            TEXT,
    created_at       INTEGER NOT NULL,
    finished_at      INTEGER
  ) STRICT;
  CREATE INDEX exports_pilot ON exports(pilot_id, created_at);

  CREATE TABLE erasures (
    pilot_id     TEXT PRIMARY KEY REFERENCES pilots(id),
    company_id   TEXT NOT NULL,
    testbed_id   TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    forced       INTEGER NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('running', 'done')),
    counted      TEXT CHECK (counted IS NULL OR json_valid(counted)),
    receipt_id   TEXT NOT NULL UNIQUE,
    started_at   INTEGER NOT NULL,
    finished_at  INTEGER
  ) STRICT;

  CREATE TABLE receipts (
    id         TEXT PRIMARY KEY,
    pilot_id   TEXT NOT NULL REFERENCES pilots(id),
    company_id TEXT NOT NULL,
    testbed_id TEXT NOT NULL,
    jws        TEXT NOT NULL,
    created_at INTEGER NOT NULL
  ) STRICT;

  ALTER TABLE pilots ADD COLUMN retention_days INTEGER CHECK (retention_days IS NULL OR retention_days > 0);
  ALTER TABLE testbeds ADD COLUMN retention_days INTEGER CHECK (retention_days IS NULL OR retention_days > 0);
  `,
  // A key's permissions beside its role, as a JSON array of scope names (e.g. ["metrics"]).
  `
  ALTER TABLE api_keys ADD COLUMN scopes TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(scopes) AND json_type(scopes) = 'array');
  `,
];

/** The six cities' living labs, present from the first start. */
export const TESTBEDS = [
  ['helsinki', 'Helsinki living lab', 'Helsinki'],
  ['espoo', 'Espoo living lab', 'Espoo'],
  ['vantaa', 'Vantaa living lab', 'Vantaa'],
  ['tampere', 'Tampere living lab', 'Tampere'],
  ['turku', 'Turku living lab', 'Turku'],
  ['oulu', 'Oulu living lab', 'Oulu'],
] as const;

export function migrate(db: Database): void {
  // Read and applied in one IMMEDIATE transaction: of several processes opening one file at once, one migrates and the others find it done.
  const apply = db.transaction(() => {
    const current = db.pragma('user_version', { simple: true }) as number;
    for (let i = current; i < MIGRATIONS.length; i++) {
      db.exec(MIGRATIONS[i] as string);
    }
    db.pragma(`user_version = ${MIGRATIONS.length}`);
    const seed = db.prepare('INSERT OR IGNORE INTO testbeds (id, name, city) VALUES (?, ?, ?)');
    for (const row of TESTBEDS) seed.run(...row);
  });
  apply.immediate();
}
