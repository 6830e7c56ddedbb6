import type { Database, Statement } from './sql/database.js';
import { type ApiKey, type KeyGrant, type KeyScope, type Role, hashSecret, newId, newSecret, verifySecret, isoTime } from '../core/index.js';
import { mayManage } from './key-policy.js';

const DUMMY_DIGEST = hashSecret('no such key');

const isoOrNull = (ms: number | null): string | null => (ms === null ? null : isoTime(ms));

interface KeyRow {
  id: string;
  secret_hash: Buffer;
  role: Role;
  company_id: string | null;
  testbed_ids: string | null;
  name: string | null;
  read_only: 0 | 1;
  /** A JSON array of scope names. */
  scopes: string;
  expires_at: number | null;
  created_by: string | null;
  created_at: number;
  revoked_at: number | null;
}

const grantOf = (r: KeyRow): KeyGrant => ({
  role: r.role,
  companyId: r.company_id,
  testbedIds: r.testbed_ids === null ? null : (JSON.parse(r.testbed_ids) as string[]),
  readOnly: r.read_only === 1,
  scopes: JSON.parse(r.scopes) as KeyScope[],
  expiresAt: r.expires_at,
});

const toApiKey = (r: KeyRow): ApiKey => {
  const g = grantOf(r);
  return {
    id: r.id,
    role: g.role,
    companyId: g.companyId,
    testbedIds: g.testbedIds === null ? null : [...g.testbedIds],
    name: r.name,
    readOnly: g.readOnly,
    scopes: [...(g.scopes ?? [])],
    expiresAt: isoOrNull(r.expires_at),
    revokedAt: isoOrNull(r.revoked_at),
    createdBy: r.created_by,
    createdAt: isoTime(r.created_at),
  };
};

export interface NewKey extends KeyGrant {
  readonly name: string | null;
  /** The key id of the creator; null when made outside the API (CLI, demo). */
  readonly createdBy: string | null;
}

/** An API key that authenticated: its id and grant. */
export interface KeyHolder {
  readonly keyId: string;
  readonly grant: KeyGrant;
}

/**
 * API keys. A key is `<id>.<secret>`; only the secret's digest is stored, and
 * each request checks revocation and expiry afresh, so both take effect at once.
 */
export class KeyTable {
  readonly #now: () => number;
  readonly #get: Statement;
  readonly #insert: Statement;
  readonly #all: Statement;
  readonly #revoke: Statement;
  readonly #liveOfCompany: Statement;
  readonly #liveMintedBy: Statement;

  constructor(db: Database, now: () => number) {
    this.#now = now;
    this.#get = db.prepare('SELECT * FROM api_keys WHERE id = ?');
    this.#insert = db.prepare(
      `INSERT INTO api_keys (id, secret_hash, role, company_id, testbed_ids, name, read_only, scopes, expires_at, created_by, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#all = db.prepare('SELECT * FROM api_keys ORDER BY created_at, id');
    // A key's own revocation ends every key minted under it, directly or through keys it minted.
    this.#revoke = db.prepare(
      `WITH RECURSIVE minted(id) AS (SELECT ? UNION SELECT k.id FROM api_keys k JOIN minted m ON k.created_by = m.id)
       UPDATE api_keys SET revoked_at = ? WHERE id IN (SELECT id FROM minted) AND revoked_at IS NULL`,
    );
    const live = 'revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)';
    this.#liveOfCompany = db.prepare(`SELECT count(*) AS n FROM api_keys WHERE company_id = ? AND ${live}`);
    this.#liveMintedBy = db.prepare(
      `WITH RECURSIVE minted(id) AS (SELECT id FROM api_keys WHERE created_by = ? UNION SELECT k.id FROM api_keys k JOIN minted m ON k.created_by = m.id)
       SELECT count(*) AS n FROM api_keys WHERE id IN (SELECT id FROM minted) AND ${live}`,
    );
  }

  /** Stores a key whose grant has been checked (key-policy.ts); the key is returned once. */
  async create(input: NewKey): Promise<{ key: string; apiKey: ApiKey }> {
    const id = newId('key');
    const secret = newSecret();
    const row: KeyRow = {
      id,
      secret_hash: hashSecret(secret),
      role: input.role,
      company_id: input.companyId,
      testbed_ids: input.testbedIds === null ? null : JSON.stringify([...new Set(input.testbedIds)]),
      name: input.name,
      read_only: input.readOnly ? 1 : 0,
      scopes: JSON.stringify([...new Set(input.scopes ?? [])].sort()),
      expires_at: input.expiresAt,
      created_by: input.createdBy,
      created_at: this.#now(),
      revoked_at: null,
    };
    await this.#insert.run(
      row.id,
      row.secret_hash,
      row.role,
      row.company_id,
      row.testbed_ids,
      row.name,
      row.read_only,
      row.scopes,
      row.expires_at,
      row.created_by,
      row.created_at,
    );
    return { key: `${id}.${secret}`, apiKey: toApiKey(row) };
  }

  /** The keys `holder` may manage (key-policy.ts `mayManage`), oldest first. Keys are few; the policy is applied here, not in SQL. */
  async list(holder: KeyGrant): Promise<ApiKey[]> {
    return ((await this.#all.all()) as KeyRow[]).filter((r) => mayManage(holder, grantOf(r))).map(toApiKey);
  }

  /** A key `holder` may manage, or undefined (also for one that does not exist). */
  async get(holder: KeyGrant, id: string): Promise<ApiKey | undefined> {
    const row = (await this.#get.get(id)) as KeyRow | undefined;
    return row && mayManage(holder, grantOf(row)) ? toApiKey(row) : undefined;
  }

  /**
   * Revokes a key `holder` may manage, and every key minted under it (a key
   * mints only keys that end when it ends); revoking twice keeps the first
   * time. Undefined when not visible.
   */
  async revoke(holder: KeyGrant, id: string): Promise<ApiKey | undefined> {
    if (!(await this.get(holder, id))) return undefined;
    await this.#revoke.run(id, this.#now());
    return toApiKey((await this.#get.get(id)) as KeyRow);
  }

  /** Keys of a company that are neither revoked nor expired. */
  async liveOfCompany(companyId: string): Promise<number> {
    return ((await this.#liveOfCompany.get(companyId, this.#now())) as { n: number }).n;
  }

  /** Keys minted under `keyId` (directly or through keys it minted) that are neither revoked nor expired. */
  async liveMintedBy(keyId: string): Promise<number> {
    return ((await this.#liveMintedBy.get(keyId, this.#now())) as { n: number }).n;
  }

  /** The holder of a key that exists, is not revoked and has not expired: for long-lived requests to re-check. */
  async active(id: string): Promise<KeyHolder | undefined> {
    const row = (await this.#get.get(id)) as KeyRow | undefined;
    return row !== undefined && this.#active(row) ? { keyId: row.id, grant: grantOf(row) } : undefined;
  }

  /** The holder of a presented `<id>.<secret>`, or undefined when unknown, wrong, revoked or expired. */
  async authenticate(presented: string): Promise<KeyHolder | undefined> {
    const dot = presented.indexOf('.');
    if (dot <= 0) return undefined;
    const row = (await this.#get.get(presented.slice(0, dot))) as KeyRow | undefined;
    // The same digest work whether or not the id exists, so timing does not tell which ids do.
    const secretOk = verifySecret(presented.slice(dot + 1), row?.secret_hash ?? DUMMY_DIGEST);
    if (!row || !secretOk || !this.#active(row)) return undefined;
    return { keyId: row.id, grant: grantOf(row) };
  }

  #active(row: KeyRow): boolean {
    return row.revoked_at === null && (row.expires_at === null || row.expires_at > this.#now());
  }
}
