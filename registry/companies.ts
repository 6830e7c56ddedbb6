import type { Database, Statement } from './sql/database.js';
import { type Company, type Scope, newId, unhandled, isoTime } from '../core/index.js';

interface CompanyRow {
  id: string;
  name: string;
  created_at: number;
}
const toCompany = (r: CompanyRow): Company => ({ id: r.id, name: r.name, createdAt: isoTime(r.created_at) });

/**
 * Companies. A company has no placement of its own, so a scope sees it through
 * its pilots: all of them; its own; those with a pilot in the operator's
 * testbeds; those with a pilot shared with the researcher.
 */
export class CompanyTable {
  readonly #db: Database;
  readonly #now: () => number;
  readonly #insert: Statement;
  readonly #exists: Statement;
  readonly #scoped = new Map<string, Statement>();

  constructor(db: Database, now: () => number) {
    this.#db = db;
    this.#now = now;
    this.#insert = db.prepare('INSERT INTO companies (id, name, created_at) VALUES (?, ?, ?)');
    this.#exists = db.prepare('SELECT 1 FROM companies WHERE id = ?');
  }

  async create(name: string): Promise<Company> {
    const row: CompanyRow = { id: newId('co'), name, created_at: this.#now() };
    await this.#insert.run(row.id, row.name, row.created_at);
    return toCompany(row);
  }

  async get(scope: Scope, id: string): Promise<Company | undefined> {
    const row = (await this.#statement(scope, true).get(id, ...companyParams(scope))) as CompanyRow | undefined;
    return row && toCompany(row);
  }

  async list(scope: Scope): Promise<Company[]> {
    return ((await this.#statement(scope, false).all(...companyParams(scope))) as CompanyRow[]).map(toCompany);
  }

  /**
   * Whether a company exists, whoever may see it: for an operator starting a
   * pilot of a company that has none in its testbeds yet.
   */
  async exists(id: string): Promise<boolean> {
    return (await this.#exists.get(id)) !== undefined;
  }

  #statement(scope: Scope, one: boolean): Statement {
    const key = `${scope.kind}:${one}`;
    let stmt = this.#scoped.get(key);
    if (!stmt) {
      const byId = one ? 'c.id = ? AND ' : '';
      stmt = this.#db.prepare(`SELECT c.id, c.name, c.created_at FROM companies c WHERE ${byId}${companyCondition(scope)} ORDER BY c.created_at, c.id`);
      this.#scoped.set(key, stmt);
    }
    return stmt;
  }
}

/** Which companies a scope sees; the parameters are `companyParams`. */
function companyCondition(scope: Scope): string {
  switch (scope.kind) {
    case 'all':
      return '1 = 1';
    case 'company':
      return 'c.id = ?';
    case 'testbeds':
      return 'EXISTS (SELECT 1 FROM pilots p WHERE p.company_id = c.id AND p.testbed_id IN (SELECT value FROM json_each(?)))';
    case 'research':
      return 'EXISTS (SELECT 1 FROM pilots p WHERE p.company_id = c.id AND p.id IN (SELECT value FROM json_each(?)))';
    default:
      return unhandled(scope);
  }
}

function companyParams(scope: Scope): string[] {
  switch (scope.kind) {
    case 'all':
      return [];
    case 'company':
      return [scope.companyId];
    case 'testbeds':
      return [JSON.stringify(scope.testbedIds)];
    case 'research':
      return [JSON.stringify(scope.pilotIds)];
    default:
      return unhandled(scope);
  }
}
