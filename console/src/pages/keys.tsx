import { companyName, type Access } from '../access.js';
import { api } from '../api.js';
import { Empty, Show } from '../components/status.js';
import { PagedTable } from '../components/table.js';
import { useLoad } from '../load.js';
import { formatTime } from '../time.js';
import type { ApiKey } from '../types.js';

function keyState(k: ApiKey, now = Date.now()): string {
  if (k.revokedAt !== null) return 'revoked';
  if (k.expiresAt !== null && Date.parse(k.expiresAt) <= now) return 'expired';
  return 'active';
}

/** The keys this key may manage (never their secrets): admins see all, operators their testbeds', companies their own. */
export function Keys({ access }: { access: Access }) {
  const loaded = useLoad(() => api.keys(), []);
  return (
    <main>
      <h1>API keys</h1>
      <p class="muted">Secrets are shown once, when a key is made (POST /v1/keys); they are never shown again.</p>
      <Show loaded={loaded}>
        {(keys) =>
          keys.length === 0 ? (
            <Empty>No keys to show. Make one with POST /v1/keys.</Empty>
          ) : (
            <PagedTable
              label="API keys"
              rows={keys}
              rowKey={(k) => k.id}
              columns={[
                { title: 'Key id', cell: (k) => <code>{k.id}</code> },
                { title: 'Name', cell: (k) => k.name ?? '–' },
                { title: 'Role', cell: (k) => k.role + (k.readOnly ? ' (read-only)' : '') },
                { title: 'Scope', cell: (k) => (k.companyId ? companyName(access, k.companyId) : (k.testbedIds?.join(', ') ?? 'all')) },
                { title: 'State', cell: (k) => <span class={`badge ${keyState(k)}`}>{keyState(k)}</span> },
                { title: 'Created', cell: (k) => formatTime(k.createdAt) },
                { title: 'Expires', cell: (k) => formatTime(k.expiresAt) },
              ]}
            />
          )
        }
      </Show>
    </main>
  );
}
