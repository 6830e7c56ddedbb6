import { useState } from 'preact/hooks';
import type { Access } from '../access.js';
import { api, ApiError } from '../api.js';
import { Empty, ErrorBox, Show } from '../components/status.js';
import { PagedTable } from '../components/table.js';
import { useLoad } from '../load.js';
import { href } from '../router.js';
import { formatTime } from '../time.js';
import type { AlertRule, Pilot, Testbed } from '../types.js';

/** What each condition watches, and the unit of its threshold (none: no threshold). */
const CONDITIONS: Record<string, { label: string; unit?: string; gateway?: boolean }> = {
  late: { label: 'a device is late' },
  silent: { label: 'a device is silent' },
  battery_low: { label: "a device's battery is low" },
  rejections: { label: 'rejected messages in an hour exceed', unit: 'messages' },
  offline: { label: 'a device is disconnected for longer than', unit: 'minutes' },
  queue_age: { label: "the gateway's queue is older than", unit: 'seconds', gateway: true },
  store_unreachable: { label: 'the store is unreachable for longer than', unit: 'seconds', gateway: true },
};

const asError = (err: unknown) => (err instanceof ApiError ? err : new ApiError(0, 'CONSOLE', String(err)));

function NewRule({ access, pilots, testbeds, onMade }: { access: Access; pilots: Pilot[]; testbeds: Testbed[]; onMade: () => void }) {
  const operator = access.me.role === 'admin' || access.me.role === 'operator';
  const [condition, setCondition] = useState('silent');
  const [threshold, setThreshold] = useState('');
  const [target, setTarget] = useState(operator ? `testbed:${testbeds[0]?.id ?? ''}` : `pilot:${pilots[0]?.id ?? ''}`);
  const [error, setError] = useState<ApiError | null>(null);
  const spec = CONDITIONS[condition]!;
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    const [kind, id] = target.split(':') as [string, string];
    const body: Record<string, unknown> = { condition, [kind === 'testbed' ? 'testbedId' : 'pilotId']: id };
    if (spec.unit) body.threshold = Number(threshold);
    try {
      await api.createAlertRule(body);
      onMade();
    } catch (err) {
      setError(asError(err));
    }
  };
  return (
    <form class="card register" aria-labelledby="new-rule-title" onSubmit={(e) => void submit(e)}>
      <h2 id="new-rule-title">New alert rule</h2>
      <label>
        Alert when{' '}
        <select value={condition} onChange={(e) => setCondition(e.currentTarget.value)}>
          {Object.entries(CONDITIONS)
            .filter(([, c]) => operator || !c.gateway)
            .map(([id, c]) => (
              <option value={id}>{c.label}</option>
            ))}
        </select>
      </label>
      {spec.unit && (
        <label>
          Threshold ({spec.unit}) <input type="number" min="0" required value={threshold} onInput={(e) => setThreshold(e.currentTarget.value)} />
        </label>
      )}
      <label>
        In{' '}
        <select value={target} onChange={(e) => setTarget(e.currentTarget.value)}>
          {operator && testbeds.map((t) => <option value={`testbed:${t.id}`}>testbed {t.name}</option>)}
          {pilots.map((p) => (
            <option value={`pilot:${p.id}`}>pilot {p.name}</option>
          ))}
        </select>
      </label>
      <button type="submit">Add rule</button>
      {error && <ErrorBox error={error} />}
    </form>
  );
}

/** Open and recent alerts, and the rules that raise them: for operators their testbeds', for companies their pilots'. */
export function Alerts({ access }: { access: Access }) {
  const [version, setVersion] = useState(0);
  const [error, setError] = useState<ApiError | null>(null);
  const loaded = useLoad(() => Promise.all([api.alerts(), api.alertRules(), api.pilots(), api.testbeds()]), [version], true);
  const remove = async (rule: AlertRule) => {
    setError(null);
    try {
      await api.deleteAlertRule(rule.id);
      setVersion((v) => v + 1);
    } catch (err) {
      setError(asError(err));
    }
  };
  return (
    <main>
      <h1>Alerts</h1>
      {error && <ErrorBox error={error} />}
      <Show loaded={loaded}>
        {([alerts, rules, pilots, allTestbeds]) => {
          const testbeds = access.me.testbedIds === null ? allTestbeds : allTestbeds.filter((t) => access.me.testbedIds?.includes(t.id));
          const open = alerts.filter((a) => a.state === 'open');
          const where = (r: { pilotId: string | null; testbedId: string }) =>
            r.pilotId
              ? (pilots.find((p) => p.id === r.pilotId)?.name ?? r.pilotId)
              : `testbed ${testbeds.find((t) => t.id === r.testbedId)?.name ?? r.testbedId}`;
          return (
            <>
              <h2>Open alerts</h2>
              {open.length === 0 ? (
                <Empty>No open alert. {rules.length === 0 ? 'Add a rule below to be told when devices go late or silent.' : ''}</Empty>
              ) : (
                <PagedTable
                  label="Open alerts"
                  rows={open}
                  rowKey={(a) => a.id}
                  columns={[
                    { title: 'Opened', cell: (a) => formatTime(a.openedAt) },
                    { title: 'Condition', cell: (a) => a.condition },
                    { title: 'Where', cell: where },
                    { title: 'Device', cell: (a) => (a.deviceId ? <a href={href({ page: 'device', deviceId: a.deviceId })}>{a.deviceId}</a> : '–') },
                    { title: 'Message', cell: (a) => a.message },
                  ]}
                />
              )}
              <h2>Rules</h2>
              {access.may('POST /v1/alert-rules') && <NewRule access={access} pilots={pilots} testbeds={testbeds} onMade={() => setVersion((v) => v + 1)} />}
              {rules.length === 0 ? (
                <Empty>No alert rules yet.</Empty>
              ) : (
                <PagedTable
                  label="Alert rules"
                  rows={rules}
                  rowKey={(r) => r.id}
                  columns={[
                    { title: 'Condition', cell: (r) => CONDITIONS[r.condition]?.label ?? r.condition },
                    { title: 'Threshold', cell: (r) => (r.threshold === null ? '–' : `${r.threshold} ${CONDITIONS[r.condition]?.unit ?? ''}`) },
                    { title: 'Where', cell: where },
                    { title: 'Created', cell: (r) => formatTime(r.createdAt) },
                    {
                      title: 'Action',
                      cell: (r) =>
                        access.may('DELETE /v1/alert-rules/{ruleId}') && (
                          <button type="button" class="danger" onClick={() => void remove(r)} aria-label={`Delete rule ${r.condition} in ${where(r)}`}>
                            Delete
                          </button>
                        ),
                    },
                  ]}
                />
              )}
              <h2>Resolved recently</h2>
              {alerts.length === open.length ? (
                <Empty>No resolved alerts.</Empty>
              ) : (
                <PagedTable
                  label="Resolved alerts"
                  rows={alerts.filter((a) => a.state === 'resolved')}
                  rowKey={(a) => a.id}
                  columns={[
                    { title: 'Opened', cell: (a) => formatTime(a.openedAt) },
                    { title: 'Resolved', cell: (a) => formatTime(a.resolvedAt) },
                    { title: 'Condition', cell: (a) => a.condition },
                    { title: 'Where', cell: where },
                    { title: 'Message', cell: (a) => a.message },
                  ]}
                />
              )}
            </>
          );
        }}
      </Show>
    </main>
  );
}
