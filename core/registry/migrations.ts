import type { Database } from 'better-sqlite3';

/**
 * Schema migrations, applied in order on start. `PRAGMA user_version` records
 * how many have run. Append new migrations; never edit one that has shipped.
 */
const MIGRATIONS: readonly string[] = [
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
];

/** The six cities' living labs, present from the first start. */
const TESTBEDS = [
  ['helsinki', 'Helsinki living lab', 'Helsinki'],
  ['espoo', 'Espoo living lab', 'Espoo'],
  ['vantaa', 'Vantaa living lab', 'Vantaa'],
  ['tampere', 'Tampere living lab', 'Tampere'],
  ['turku', 'Turku living lab', 'Turku'],
  ['oulu', 'Oulu living lab', 'Oulu'],
] as const;

export function migrate(db: Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  const apply = db.transaction(() => {
    for (let i = current; i < MIGRATIONS.length; i++) {
      db.exec(MIGRATIONS[i] as string);
    }
    db.pragma(`user_version = ${MIGRATIONS.length}`);
    const seed = db.prepare('INSERT OR IGNORE INTO testbeds (id, name, city) VALUES (?, ?, ?)');
    for (const row of TESTBEDS) seed.run(...row);
  });
  apply();
}
