import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { Registry, type RegistryOpenOptions } from '../../registry/registry.js';
import { startPostgres, type PostgresServer } from './postgres.js';

/** The databases the registry runs on; its suites run against each. */
export const REGISTRY_DATABASES = ['sqlite', 'postgres'] as const;
export type RegistryDatabase = (typeof REGISTRY_DATABASES)[number];

/**
 * Opens registries on one database for a test file. A data folder names one
 * registry: opening it again (a restart) finds what was stored. On PostgreSQL
 * each folder gets a database of its own on one server, started on first use
 * and stopped by `close`.
 */
export interface RegistryHost {
  readonly database: RegistryDatabase;
  open(dataDir: string, adminToken: string | undefined, options?: RegistryOpenOptions): Promise<Registry>;
  /** What the database keeps for `dataDir`, as bytes: SQLite's files, or every row of every PostgreSQL table as JSON text. */
  storedBytes(dataDir: string): Promise<Buffer>;
  /** The PostgreSQL server, when there is one (to restart it). */
  readonly server: PostgresServer | undefined;
  close(): Promise<void>;
}

/** The registry database of suites that do not choose: SQLite, unless TESTBED_TEST_REGISTRY=postgres. */
export function defaultRegistryDatabase(): RegistryDatabase {
  const chosen = process.env.TESTBED_TEST_REGISTRY ?? 'sqlite';
  if (!(REGISTRY_DATABASES as readonly string[]).includes(chosen))
    throw new Error(`TESTBED_TEST_REGISTRY=${chosen}: expected one of ${REGISTRY_DATABASES.join(', ')}`);
  return chosen as RegistryDatabase;
}

export function registryHost(database: RegistryDatabase): RegistryHost {
  if (database === 'sqlite') {
    return {
      database,
      server: undefined,
      open: (dataDir, adminToken, options) => Registry.open(dataDir, adminToken, options),
      async storedBytes(dataDir) {
        const files = fs.readdirSync(dataDir).filter((f) => f.startsWith('registry.db'));
        return Buffer.concat(files.map((f) => fs.readFileSync(path.join(dataDir, f))));
      },
      close: async () => undefined,
    };
  }
  let server: PostgresServer | undefined;
  const urls = new Map<string, string>();
  const urlFor = async (dataDir: string): Promise<string> => {
    server ??= await startPostgres();
    let url = urls.get(dataDir);
    if (!url) {
      url = await server.createDatabase();
      urls.set(dataDir, url);
    }
    return url;
  };
  return {
    database,
    get server() {
      return server;
    },
    async open(dataDir, adminToken, options) {
      return Registry.open(dataDir, adminToken, { ...options, databaseUrl: await urlFor(dataDir) });
    },
    async storedBytes(dataDir) {
      const client = new pg.Client({ connectionString: await urlFor(dataDir) });
      await client.connect();
      try {
        const tables = await client.query<{ name: string }>("SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'");
        const rows: string[] = [];
        for (const { name } of tables.rows) {
          const result = await client.query<{ row: string }>(`SELECT CAST(row_to_json(t) AS text) AS row FROM "${name}" t`);
          rows.push(...result.rows.map((r) => r.row));
        }
        return Buffer.from(rows.join('\n'));
      } finally {
        await client.end();
      }
    },
    async close() {
      await server?.stop();
    },
  };
}
