import { api } from '../api.js';
import { Show } from '../components/status.js';
import { useLoad } from '../load.js';
import { href } from '../router.js';
import type { Access } from '../access.js';
import { HealthPanel } from './health.js';

/** The first page: each testbed with the pilots this key sees in it, and the pipeline's health for operators. */
export function Overview({ access }: { access: Access }) {
  const loaded = useLoad(() => Promise.all([api.testbeds(), api.pilots()]), []);
  return (
    <main>
      <h1>Overview</h1>
      <Show loaded={loaded}>
        {([testbeds, pilots]) => (
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
          </>
        )}
      </Show>
      {access.mayOperate && <HealthPanel />}
    </main>
  );
}
