import type { Database, Statement } from './sql/database.js';
import { newId, type Alert, type AlertCondition, type AlertRule, type Scope } from '../core/index.js';
import { ScopedStatements } from './statements.js';
import type { ScopeColumns } from '../core/index.js';

/** Rules and alerts are placed by their rule: a company's (its pilot) or an operator's (a testbed, company_id null). */
const COLUMNS: ScopeColumns = { company: 'company_id', testbed: 'testbed_id', pilot: 'pilot_id' };

export interface NewAlertRule {
  readonly name?: string | undefined;
  readonly condition: AlertCondition;
  readonly threshold?: number | undefined;
  readonly holdSeconds: number;
  readonly testbedId: string;
  readonly pilotId?: string | undefined;
  readonly companyId?: string | undefined;
}

/** An alert to open: the rule it comes from and what it is about. */
export interface NewAlert {
  readonly rule: AlertRule;
  readonly deviceId?: string | undefined;
  readonly message: string;
  readonly at: number;
}

interface RuleRow {
  id: string;
  name: string | null;
  condition: AlertCondition;
  threshold: number | null;
  hold_ms: number;
  company_id: string | null;
  testbed_id: string;
  pilot_id: string | null;
  created_at: number;
}
interface AlertRow {
  id: string;
  rule_id: string;
  condition: AlertCondition;
  state: 'open' | 'resolved';
  opened_at: number;
  resolved_at: number | null;
  device_id: string | null;
  testbed_id: string;
  pilot_id: string | null;
  message: string;
}

const iso = (ms: number): string => new Date(ms).toISOString();
const toRule = (r: RuleRow): AlertRule => ({
  id: r.id,
  name: r.name,
  condition: r.condition,
  threshold: r.threshold,
  holdSeconds: r.hold_ms / 1000,
  testbedId: r.testbed_id,
  pilotId: r.pilot_id,
  companyId: r.company_id,
  createdAt: iso(r.created_at),
});
const toAlert = (r: AlertRow): Alert => ({
  id: r.id,
  ruleId: r.rule_id,
  condition: r.condition,
  state: r.state,
  openedAt: iso(r.opened_at),
  resolvedAt: r.resolved_at === null ? null : iso(r.resolved_at),
  ...(r.device_id === null ? {} : { deviceId: r.device_id }),
  testbedId: r.testbed_id,
  pilotId: r.pilot_id,
  message: r.message,
});

/** Alert rules and the alerts they opened; every read takes a scope. */
export class AlertTable {
  readonly #scoped: ScopedStatements;
  readonly #s: Record<'insertRule' | 'deleteRule' | 'allRules' | 'insertAlert' | 'resolve' | 'open', Statement>;
  readonly #now: () => number;

  constructor(db: Database, now: () => number) {
    this.#now = now;
    this.#scoped = new ScopedStatements(db);
    this.#s = {
      insertRule: db.prepare(
        'INSERT INTO alert_rules (id, name, condition, threshold, hold_ms, company_id, testbed_id, pilot_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      deleteRule: db.prepare('DELETE FROM alert_rules WHERE id = ?'),
      allRules: db.prepare('SELECT * FROM alert_rules ORDER BY created_at, id'),
      insertAlert: db.prepare(
        "INSERT INTO alerts (id, rule_id, condition, state, opened_at, device_id, company_id, testbed_id, pilot_id, message) VALUES (?, ?, ?, 'open', ?, ?, ?, ?, ?, ?)",
      ),
      resolve: db.prepare("UPDATE alerts SET state = 'resolved', resolved_at = ? WHERE id = ? AND state = 'open' RETURNING *"),
      open: db.prepare("SELECT * FROM alerts WHERE state = 'open'"),
    };
  }

  async createRule(input: NewAlertRule): Promise<AlertRule> {
    const row: RuleRow = {
      id: newId('rule'),
      name: input.name ?? null,
      condition: input.condition,
      threshold: input.threshold ?? null,
      hold_ms: Math.round(input.holdSeconds * 1000),
      company_id: input.companyId ?? null,
      testbed_id: input.testbedId,
      pilot_id: input.pilotId ?? null,
      created_at: this.#now(),
    };
    await this.#s.insertRule.run(row.id, row.name, row.condition, row.threshold, row.hold_ms, row.company_id, row.testbed_id, row.pilot_id, row.created_at);
    return toRule(row);
  }

  async getRule(scope: Scope, id: string): Promise<AlertRule | undefined> {
    const { stmt, scopeParams } = this.#scoped.get('rule', scope, COLUMNS, (where) => `SELECT * FROM alert_rules WHERE id = ? AND (${where})`);
    const row = (await stmt.get(id, ...scopeParams)) as RuleRow | undefined;
    return row && toRule(row);
  }

  async listRules(scope: Scope): Promise<AlertRule[]> {
    const { stmt, scopeParams } = this.#scoped.get('rules', scope, COLUMNS, (where) => `SELECT * FROM alert_rules WHERE ${where} ORDER BY created_at, id`);
    return ((await stmt.all(...scopeParams)) as RuleRow[]).map(toRule);
  }

  async deleteRule(scope: Scope, id: string): Promise<AlertRule | undefined> {
    const rule = await this.getRule(scope, id);
    if (rule) await this.#s.deleteRule.run(id);
    return rule;
  }

  /** Every rule: the health stage's evaluation, which applies each rule within its own placement. */
  async allRules(): Promise<AlertRule[]> {
    return ((await this.#s.allRules.all()) as RuleRow[]).map(toRule);
  }

  async open(a: NewAlert): Promise<Alert> {
    const id = newId('alert');
    await this.#s.insertAlert.run(id, a.rule.id, a.rule.condition, a.at, a.deviceId ?? null, a.rule.companyId, a.rule.testbedId, a.rule.pilotId, a.message);
    return toAlert({
      id,
      rule_id: a.rule.id,
      condition: a.rule.condition,
      state: 'open',
      opened_at: a.at,
      resolved_at: null,
      device_id: a.deviceId ?? null,
      testbed_id: a.rule.testbedId,
      pilot_id: a.rule.pilotId,
      message: a.message,
    });
  }

  async resolve(id: string, at: number): Promise<Alert | undefined> {
    const row = (await this.#s.resolve.get(at, id)) as AlertRow | undefined;
    return row && toAlert(row);
  }

  /** The open alerts, with the company of their rule (for scoping events). */
  async openAlerts(): Promise<(Alert & { companyId: string | null })[]> {
    return ((await this.#s.open.all()) as (AlertRow & { company_id: string | null })[]).map((r) => ({ ...toAlert(r), companyId: r.company_id }));
  }

  async list(scope: Scope, state: 'open' | 'resolved' | undefined, limit: number): Promise<Alert[]> {
    const { stmt, scopeParams } = this.#scoped.get(
      'alerts',
      scope,
      COLUMNS,
      (where) => `SELECT * FROM alerts WHERE (? IS NULL OR state = ?) AND (${where}) ORDER BY opened_at DESC, id LIMIT ?`,
    );
    return ((await stmt.all(state ?? null, state ?? null, ...scopeParams, limit)) as AlertRow[]).map(toAlert);
  }
}
