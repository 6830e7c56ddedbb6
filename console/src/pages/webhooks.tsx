import { useState } from 'preact/hooks';
import type { Access } from '../access.js';
import { api, ApiError } from '../api.js';
import { CopyButton } from '../components/credentials.js';
import { Empty, ErrorBox, Show } from '../components/status.js';
import { PagedTable } from '../components/table.js';
import { useLoad } from '../load.js';
import { formatTime } from '../time.js';
import type { Pilot, Testbed, Webhook } from '../types.js';

const EVENTS = ['alert.opened', 'alert.resolved', 'device.status', 'device.connected', 'device.disconnected'];
const asError = (err: unknown) => (err instanceof ApiError ? err : new ApiError(0, 'CONSOLE', String(err)));

function NewWebhook({ access, pilots, testbeds, onMade }: { access: Access; pilots: Pilot[]; testbeds: Testbed[]; onMade: () => void }) {
  const operator = access.me.role === 'admin' || access.me.role === 'operator';
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState<string[]>(['alert.opened', 'alert.resolved']);
  const [target, setTarget] = useState(operator ? `testbed:${testbeds[0]?.id ?? ''}` : '');
  const [secret, setSecret] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    const [kind, id] = target.split(':');
    const body: Record<string, unknown> = { url, events };
    if (kind && id) body[kind === 'testbed' ? 'testbedId' : 'pilotId'] = id;
    try {
      setSecret((await api.createWebhook(body)).secret);
      setUrl('');
      onMade();
    } catch (err) {
      setError(asError(err));
    }
  };
  if (secret)
    return (
      <section class="card secret" aria-labelledby="hook-secret-title">
        <h2 id="hook-secret-title">Signing secret</h2>
        <p>
          <strong>Copy the signing secret now: it is shown only this once.</strong> Receivers check each delivery's <code>webhook-signature</code> with it.
        </p>
        <p>
          <code class="password">{secret}</code> <CopyButton text={secret} label="signing secret" />
        </p>
        <button type="button" onClick={() => setSecret(null)}>
          I have copied it
        </button>
      </section>
    );
  return (
    <form class="card register" aria-labelledby="new-hook-title" onSubmit={(e) => void submit(e)}>
      <h2 id="new-hook-title">New webhook</h2>
      <label>
        URL{' '}
        <input type="url" required value={url} placeholder="https://receiver.example.org/testbed" onInput={(e) => setUrl(e.currentTarget.value)} size={40} />
      </label>
      <fieldset>
        <legend>Events</legend>
        {EVENTS.map((ev) => (
          <label key={ev}>
            <input
              type="checkbox"
              checked={events.includes(ev)}
              onChange={(e) => setEvents(e.currentTarget.checked ? [...events, ev] : events.filter((x) => x !== ev))}
            />{' '}
            {ev}
          </label>
        ))}
      </fieldset>
      <label>
        For{' '}
        <select value={target} onChange={(e) => setTarget(e.currentTarget.value)}>
          {!operator && <option value="">the whole company</option>}
          {operator && testbeds.map((t) => <option value={`testbed:${t.id}`}>testbed {t.name}</option>)}
          {pilots.map((p) => (
            <option value={`pilot:${p.id}`}>pilot {p.name}</option>
          ))}
        </select>
      </label>
      <button type="submit" disabled={events.length === 0}>
        Add webhook
      </button>
      {error && <ErrorBox error={error} />}
    </form>
  );
}

/** The last deliveries to one webhook, with each attempt's answer. */
function Deliveries({ webhook }: { webhook: Webhook }) {
  const loaded = useLoad(() => api.deliveries(webhook.id), [webhook.id]);
  return (
    <Show loaded={loaded}>
      {(deliveries) =>
        deliveries.length === 0 ? (
          <Empty>Nothing delivered yet: a delivery is made when one of its events happens.</Empty>
        ) : (
          <PagedTable
            label={`Deliveries to ${webhook.url}`}
            rows={deliveries}
            rowKey={(d) => d.id}
            columns={[
              { title: 'Created', cell: (d) => formatTime(d.createdAt) },
              { title: 'Event', cell: (d) => d.eventType },
              { title: 'State', cell: (d) => <span class={`badge ${d.state}`}>{d.state}</span> },
              {
                title: 'Last attempt',
                cell: (d) => {
                  const last = d.attempts.at(-1);
                  return last ? (last.statusCode === null ? (last.error ?? 'no answer') : `HTTP ${last.statusCode}`) : 'not yet';
                },
              },
            ]}
          />
        )
      }
    </Show>
  );
}

/** Webhooks: where events are posted, signed; their deliveries; adding and deleting them. */
export function Webhooks({ access }: { access: Access }) {
  const [version, setVersion] = useState(0);
  const [open, setOpen] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const loaded = useLoad(() => Promise.all([api.webhooks(), api.pilots(), api.testbeds()]), [version], true);
  const remove = async (w: Webhook) => {
    setError(null);
    try {
      await api.deleteWebhook(w.id);
      setVersion((v) => v + 1);
    } catch (err) {
      setError(asError(err));
    }
  };
  return (
    <main>
      <h1>Webhooks</h1>
      {error && <ErrorBox error={error} />}
      <Show loaded={loaded}>
        {([hooks, pilots, allTestbeds]) => {
          const testbeds = access.me.testbedIds === null ? allTestbeds : allTestbeds.filter((t) => access.me.testbedIds?.includes(t.id));
          const where = (w: Webhook) =>
            w.pilotId
              ? `pilot ${pilots.find((p) => p.id === w.pilotId)?.name ?? w.pilotId}`
              : w.testbedId
                ? `testbed ${w.testbedId}`
                : w.companyId
                  ? 'company'
                  : 'everything';
          const shown = hooks.find((w) => w.id === open);
          return (
            <>
              {access.may('POST /v1/webhooks') && <NewWebhook access={access} pilots={pilots} testbeds={testbeds} onMade={() => setVersion((v) => v + 1)} />}
              {hooks.length === 0 ? (
                <Empty>No webhooks yet. Add one to have alerts and device events posted to a receiver of yours.</Empty>
              ) : (
                <PagedTable
                  label="Webhooks"
                  rows={hooks}
                  rowKey={(w) => w.id}
                  columns={[
                    { title: 'URL', cell: (w) => <code>{w.url}</code> },
                    { title: 'Events', cell: (w) => w.events.join(', ') },
                    { title: 'For', cell: where },
                    { title: 'Created', cell: (w) => formatTime(w.createdAt) },
                    {
                      title: 'Action',
                      cell: (w) => (
                        <>
                          <button type="button" aria-pressed={open === w.id} onClick={() => setOpen(open === w.id ? null : w.id)}>
                            Deliveries
                          </button>{' '}
                          {access.may('DELETE /v1/webhooks/{webhookId}') && (
                            <button type="button" class="danger" onClick={() => void remove(w)} aria-label={`Delete webhook ${w.url}`}>
                              Delete
                            </button>
                          )}
                        </>
                      ),
                    },
                  ]}
                />
              )}
              {shown && (
                <section aria-labelledby="deliveries-title">
                  <h2 id="deliveries-title">Deliveries to {shown.url}</h2>
                  <Deliveries webhook={shown} />
                </section>
              )}
            </>
          );
        }}
      </Show>
    </main>
  );
}
