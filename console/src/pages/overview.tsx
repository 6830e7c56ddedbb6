import { api } from '../api.js';
import { Show } from '../components/status.js';
import { useLoad } from '../load.js';
import { href } from '../router.js';
import type { Access } from '../access.js';
import type { Testbed } from '../types.js';
import { HealthPanel } from './health.js';

const STATUSES = ['ok', 'late', 'silent', 'never'] as const;

/** For operators: each of their testbeds' devices by health status (each count links to those devices), and the open alerts. */
function Operations({ testbeds }: { testbeds: Testbed[] }) {
  const loaded = useLoad(
    () => Promise.all([Promise.all(testbeds.map((t) => api.testbedHealth(t.id))), api.alerts('open')]),
    [testbeds.map((t) => t.id).join()],
  );
  return (
    <section aria-labelledby="ops-title">
      <h2 id="ops-title">Devices by status</h2>
      <Show loaded={loaded}>
        {([healths, alerts]) => (
          <>
            <p>
              <a href={href({ page: 'alerts' })}>
                {alerts.length} open {alerts.length === 1 ? 'alert' : 'alerts'}
              </a>
            </p>
            <div class="table-wrap">
              <table aria-label="Devices by status">
                <thead>
                  <tr>
                    <th scope="col">Testbed</th>
                    {STATUSES.map((s) => (
                      <th scope="col" class="num">
                        {s}
                      </th>
                    ))}
                    <th scope="col" class="num">
                      online
                    </th>
                    <th scope="col" class="num">
                      battery low
                    </th>
                    <th scope="col">Gateway</th>
                  </tr>
                </thead>
                <tbody>
                  {healths.map((h) => (
                    <tr key={h.testbedId}>
                      <th scope="row">{testbeds.find((t) => t.id === h.testbedId)?.name ?? h.testbedId}</th>
                      {STATUSES.map((s) => (
                        <td class="num">
                          <a href={href({ page: 'devices', filter: { testbed: h.testbedId, status: s } })}>{h.devices.byStatus[s] ?? 0}</a>
                        </td>
                      ))}
                      <td class="num">{h.devices.online}</td>
                      <td class="num">
                        <a href={href({ page: 'devices', filter: { testbed: h.testbedId, battery: 'low' } })}>{h.devices.batteryLow}</a>
                      </td>
                      <td>
                        {h.gateway
                          ? `${h.gateway.connections} connections; queue ${h.gateway.queue.depthBytes} B; store ${h.gateway.store.reachable ? 'reachable' : 'unreachable'}`
                          : '–'}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </>
        )}
      </Show>
    </section>
  );
}

/** The first page: each testbed with the pilots this key sees in it; for operators, devices by status, open alerts and the pipeline's health. */
export function Overview({ access }: { access: Access }) {
  const loaded = useLoad(() => Promise.all([api.testbeds(), api.pilots()]), []);
  return (
    <main>
      <h1>Overview</h1>
      <Show loaded={loaded}>
        {([all, pilots]) => {
          // A key limited to some testbeds is shown those; the others would only ever say 0.
          const testbeds = access.me.testbedIds === null ? all : all.filter((t) => access.me.testbedIds?.includes(t.id));
          return (
            <>
              <p class="lead">
                This key sees {pilots.length} {pilots.length === 1 ? 'pilot' : 'pilots'} of {access.companies.length}{' '}
                {access.companies.length === 1 ? 'company' : 'companies'}.
              </p>
              <ul class="tiles">
                {testbeds.map((t) => {
                  const here = pilots.filter((p) => p.testbedId === t.id);
                  const running = here.filter((p) => p.endedAt === null && (p.endsAt === null || Date.parse(p.endsAt) > Date.now())).length;
                  return (
                    <li class="tile" key={t.id}>
                      <a href={href({ page: 'pilots', testbedId: t.id })}>
                        <h2>{t.name}</h2>
                        <span class="big">{here.length}</span> {here.length === 1 ? 'pilot' : 'pilots'}
                        <span class="muted">, {running} running</span>
                      </a>
                    </li>
                  );
                })}
              </ul>
              {access.mayOperate && <Operations testbeds={testbeds} />}
            </>
          );
        }}
      </Show>
      {access.mayOperate && <HealthPanel />}
    </main>
  );
}
