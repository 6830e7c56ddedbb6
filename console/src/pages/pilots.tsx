import { companyName, type Access } from '../access.js';
import { api } from '../api.js';
import { Empty, Show } from '../components/status.js';
import { PagedTable } from '../components/table.js';
import { useLoad } from '../load.js';
import { href } from '../router.js';
import { formatTime } from '../time.js';
import type { Pilot } from '../types.js';

/** Where a pilot is in its life, from its dates. */
export function pilotState(p: Pilot, now = Date.now()): string {
  if (p.endedAt !== null || (p.endsAt !== null && Date.parse(p.endsAt) <= now)) return 'ended';
  if (p.startsAt !== null && Date.parse(p.startsAt) > now) return 'not started';
  return 'running';
}

/** The pilots this key sees, filtered by testbed and company; the filters live in the URL so the view can be linked. */
export function Pilots({ access, testbedId, companyId }: { access: Access; testbedId?: string | undefined; companyId?: string | undefined }) {
  const loaded = useLoad(() => Promise.all([api.testbeds(), api.pilots({ testbedId, companyId })]), [testbedId, companyId]);
  const go = (next: { testbedId?: string | undefined; companyId?: string | undefined }) => {
    location.hash = href({ page: 'pilots', testbedId, companyId, ...next });
  };
  return (
    <main>
      <h1>Pilots</h1>
      <Show loaded={loaded}>
        {([testbeds, pilots]) => (
          <>
            <div class="filters">
              <label>
                Testbed{' '}
                <select value={testbedId ?? ''} onChange={(e) => go({ testbedId: e.currentTarget.value || undefined })}>
                  <option value="">All testbeds</option>
                  {testbeds.map((t) => (
                    <option value={t.id}>{t.name}</option>
                  ))}
                </select>
              </label>
              {access.companies.length > 1 && (
                <label>
                  Company{' '}
                  <select value={companyId ?? ''} onChange={(e) => go({ companyId: e.currentTarget.value || undefined })}>
                    <option value="">All companies</option>
                    {access.companies.map((c) => (
                      <option value={c.id}>{c.name}</option>
                    ))}
                  </select>
                </label>
              )}
            </div>
            {pilots.length === 0 ? (
              <Empty>
                No pilots {testbedId || companyId ? 'match these filters' : 'are visible to this key'}. Pilots are started by a testbed operator (POST
                /v1/pilots); a company key sees its own.
              </Empty>
            ) : (
              <PagedTable
                label="Pilots"
                rows={pilots}
                rowKey={(p) => p.id}
                columns={[
                  { title: 'Pilot', cell: (p) => <a href={href({ page: 'pilot', pilotId: p.id })}>{p.name}</a> },
                  { title: 'Company', cell: (p) => companyName(access, p.companyId) },
                  { title: 'Testbed', cell: (p) => testbeds.find((t) => t.id === p.testbedId)?.name ?? p.testbedId },
                  { title: 'State', cell: (p) => <span class={`badge ${pilotState(p).replace(' ', '-')}`}>{pilotState(p)}</span> },
                  { title: 'Sharing', cell: (p) => p.sharing },
                  { title: 'Starts', cell: (p) => formatTime(p.startsAt) },
                  { title: 'Ends', cell: (p) => formatTime(p.endedAt ?? p.endsAt) },
                ]}
              />
            )}
          </>
        )}
      </Show>
    </main>
  );
}
