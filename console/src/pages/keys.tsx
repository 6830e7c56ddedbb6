import { useState } from 'preact/hooks';
import { companyName, type Access } from '../access.js';
import { api, ApiError } from '../api.js';
import { CopyButton } from '../components/credentials.js';
import { Empty, ErrorBox, Show } from '../components/status.js';
import { PagedTable } from '../components/table.js';
import { useLoad } from '../load.js';
import { formatTime } from '../time.js';
import type { ApiKey, Role } from '../types.js';

function keyState(k: ApiKey, now = Date.now()): string {
  if (k.revokedAt !== null) return 'revoked';
  if (k.expiresAt !== null && Date.parse(k.expiresAt) <= now) return 'expired';
  return 'active';
}

/** The roles a key may make (registry/key-policy.ts decides; this only offers): admins any, operators operator and researcher keys, companies their own. */
function rolesFor(access: Access): Role[] {
  switch (access.me.role) {
    case 'admin':
      return ['company', 'operator', 'researcher', 'admin'];
    case 'operator':
      return ['researcher', 'operator'];
    default:
      return ['company'];
  }
}

/** Makes a key; its secret is shown once, with a copy button. */
function NewKey({ access, onMade }: { access: Access; onMade: () => void }) {
  const roles = rolesFor(access);
  const [role, setRole] = useState<Role>(roles[0]!);
  const [name, setName] = useState('');
  const [companyId, setCompanyId] = useState(access.me.companyId ?? access.companies[0]?.id ?? '');
  const [readOnly, setReadOnly] = useState(false);
  const [made, setMade] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    const body: Record<string, unknown> = { role, readOnly: readOnly || role === 'researcher' };
    if (name.trim()) body.name = name.trim();
    if (role === 'company') body.companyId = companyId;
    if ((role === 'operator' || role === 'researcher') && access.me.testbedIds) body.testbedIds = access.me.testbedIds;
    if (access.me.expiresAt) body.expiresAt = access.me.expiresAt;
    try {
      setMade((await api.createKey(body)).key);
      setName('');
      onMade();
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, 'CONSOLE', String(err)));
    }
  };
  if (made)
    return (
      <section class="card secret" aria-labelledby="new-key-title">
        <h2 id="new-key-title">New key</h2>
        <p>
          <strong>Copy the key now: it is shown only this once.</strong>
        </p>
        <p>
          <code class="password">{made}</code> <CopyButton text={made} label="key" />
        </p>
        <button type="button" onClick={() => setMade(null)}>
          I have copied it
        </button>
      </section>
    );
  return (
    <form class="card register" aria-labelledby="make-key-title" onSubmit={(e) => void submit(e)}>
      <h2 id="make-key-title">Make a key</h2>
      <label>
        Role{' '}
        <select value={role} onChange={(e) => setRole(e.currentTarget.value as Role)}>
          {roles.map((r) => (
            <option value={r}>{r}</option>
          ))}
        </select>
      </label>
      {role === 'company' && access.me.role === 'admin' && (
        <label>
          Company{' '}
          <select value={companyId} onChange={(e) => setCompanyId(e.currentTarget.value)}>
            {access.companies.map((c) => (
              <option value={c.id}>{c.name}</option>
            ))}
          </select>
        </label>
      )}
      <label>
        Name <input value={name} maxLength={200} onInput={(e) => setName(e.currentTarget.value)} />
      </label>
      <label>
        <input
          type="checkbox"
          checked={readOnly || role === 'researcher'}
          disabled={role === 'researcher'}
          onChange={(e) => setReadOnly(e.currentTarget.checked)}
        />{' '}
        Read-only
      </label>
      <button type="submit">Make key</button>
      {error && <ErrorBox error={error} />}
    </form>
  );
}

/** The keys this key may manage (never their secrets): admins see all, operators their testbeds', companies their own. */
export function Keys({ access }: { access: Access }) {
  const [version, setVersion] = useState(0);
  const [error, setError] = useState<ApiError | null>(null);
  const loaded = useLoad(() => api.keys(), [version], true);
  const mayMake = access.may('POST /v1/keys');
  const mayRevoke = access.may('DELETE /v1/keys/{keyId}');
  const revoke = async (k: ApiKey) => {
    setError(null);
    try {
      await api.revokeKey(k.id);
      setVersion((v) => v + 1);
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, 'CONSOLE', String(err)));
    }
  };
  return (
    <main>
      <h1>API keys</h1>
      <p class="muted">A key's secret is shown once, when it is made; it is never shown again.</p>
      {mayMake && <NewKey access={access} onMade={() => setVersion((v) => v + 1)} />}
      {error && <ErrorBox error={error} />}
      <Show loaded={loaded}>
        {(keys) =>
          keys.length === 0 ? (
            <Empty>No keys to show. {mayMake ? 'Make one above.' : ''}</Empty>
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
                {
                  title: 'Action',
                  cell: (k) =>
                    mayRevoke && keyState(k) === 'active' && k.id !== access.me.keyId ? (
                      <button type="button" class="danger" onClick={() => void revoke(k)} aria-label={`Revoke key ${k.name ?? k.id}`}>
                        Revoke
                      </button>
                    ) : k.id === access.me.keyId ? (
                      'this key'
                    ) : (
                      ''
                    ),
                },
              ]}
            />
          )
        }
      </Show>
    </main>
  );
}
