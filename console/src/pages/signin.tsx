import { useState } from 'preact/hooks';
import { ApiError, api, session } from '../api.js';
import { ErrorBox } from '../components/status.js';
import { OpenData } from './open-data.js';

/**
 * The first screen without a key. The key is checked against the API before
 * it is kept, and kept only in this tab's sessionStorage.
 */
export function SignIn({ onSignedIn, pilotId }: { onSignedIn: () => void; pilotId?: string | undefined }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    const entered = key.trim();
    if (!entered) return;
    setBusy(true);
    setError(null);
    try {
      await api.check(entered);
      session.signIn(entered);
      setKey('');
      onSignedIn();
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, 'CONSOLE', String(err)));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="signin">
      <section class="card">
        <h1>Sign in</h1>
        <p>Paste an API key. The console shows what that key may see and nothing more. The key stays in this browser tab until you sign out or close it.</p>
        <form onSubmit={(e) => void submit(e)}>
          <label for="api-key">API key</label>
          <input
            id="api-key"
            name="api-key"
            type="password"
            autocomplete="off"
            spellcheck={false}
            value={key}
            onInput={(e) => setKey(e.currentTarget.value)}
            required
          />
          <button type="submit" disabled={busy}>
            {busy ? 'Checking…' : 'Sign in'}
          </button>
        </form>
        {error && <ErrorBox error={error} />}
      </section>
      <section class="card wide" id="open-data" aria-labelledby="open-data-title">
        <h2 id="open-data-title">Open data</h2>
        <p>
          Pilots that publish their data openly, readable without a key under the licence each names. The API behind this page is documented at{' '}
          <a href="/docs">/docs</a>.
        </p>
        <OpenData pilotId={pilotId} />
      </section>
    </main>
  );
}
