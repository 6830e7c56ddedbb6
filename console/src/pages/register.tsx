import { useState } from 'preact/hooks';
import { api, ApiError } from '../api.js';
import { CopyButton, Credentials } from '../components/credentials.js';
import { ErrorBox } from '../components/status.js';
import { useLoad } from '../load.js';
import type { CreatedDevice, Profile } from '../types.js';

const asError = (err: unknown) => (err instanceof ApiError ? err : new ApiError(0, 'CONSOLE', String(err)));

/** Several devices' credentials as CSV, to keep in a password store: the same fields the API answered. */
const credentialsCsv = (devices: readonly CreatedDevice[]) =>
  [
    'id,name,url,username,password,topic',
    ...devices.map((d) => [d.id, d.name ?? '', d.mqtt.url, d.mqtt.username, d.mqtt.password, d.mqtt.topic].join(',')),
  ].join('\n');

/**
 * Registers devices in a pilot: one from a form, or many from a CSV file (the
 * columns `POST /v1/pilots/{pilotId}/devices/bulk` takes). The answer's
 * credentials are shown once, then forgotten by the page.
 */
export function RegisterDevices({ pilotId, onRegistered }: { pilotId: string; onRegistered: () => void }) {
  const profiles = useLoad(() => api.profiles(), []);
  const [profile, setProfile] = useState('');
  const [name, setName] = useState('');
  const [lat, setLat] = useState('');
  const [lon, setLon] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [made, setMade] = useState<CreatedDevice[]>([]);
  const list: Profile[] = profiles.state === 'ready' ? profiles.data : [];
  const chosen = profile || list[0]?.id || '';

  const run = async (action: () => Promise<CreatedDevice[]>) => {
    setBusy(true);
    setError(null);
    try {
      setMade(await action());
      onRegistered();
    } catch (err) {
      setError(asError(err));
    } finally {
      setBusy(false);
    }
  };
  const single = (e: Event) => {
    e.preventDefault();
    const location = lat && lon ? { type: 'Point', coordinates: [Number(lon), Number(lat)] } : undefined;
    void run(async () => [
      await api.registerDevice(pilotId, { profile: chosen, ...(name.trim() ? { name: name.trim() } : {}), ...(location ? { location } : {}) }),
    ]);
  };
  const fromFile = (file: File | undefined) => {
    if (file) void run(async () => api.registerDevices(pilotId, await file.text()));
  };

  if (made.length > 0) {
    const measurementsOf = (d: CreatedDevice) => list.find((p) => p.id === d.profile)?.measurements ?? [];
    if (made.length === 1) return <Credentials device={made[0]!} measurements={measurementsOf(made[0]!)} onDone={() => setMade([])} />;
    const csv = credentialsCsv(made);
    return (
      <section class="card secret" aria-labelledby="bulk-cred">
        <h2 id="bulk-cred">{made.length} devices registered</h2>
        <p>
          <strong>Copy their passwords now: they are shown only this once.</strong>
        </p>
        <label for="bulk-csv">Credentials (CSV)</label>
        <textarea id="bulk-csv" readOnly rows={Math.min(12, made.length + 1)} value={csv} />
        <p>
          <CopyButton text={csv} label="credentials" />{' '}
          <button type="button" onClick={() => setMade([])}>
            I have copied them
          </button>
        </p>
      </section>
    );
  }
  return (
    <section class="card" aria-labelledby="register-title">
      <h2 id="register-title">Register a device</h2>
      <form class="register" onSubmit={single}>
        <label>
          Profile{' '}
          <select value={chosen} onChange={(e) => setProfile(e.currentTarget.value)} required>
            {list.map((p) => (
              <option value={p.id}>{p.name}</option>
            ))}
          </select>
        </label>
        <label>
          Name <input value={name} onInput={(e) => setName(e.currentTarget.value)} maxLength={200} />
        </label>
        <label>
          Latitude <input value={lat} inputMode="decimal" pattern="-?[0-9]+(\.[0-9]+)?" onInput={(e) => setLat(e.currentTarget.value)} size={9} />
        </label>
        <label>
          Longitude <input value={lon} inputMode="decimal" pattern="-?[0-9]+(\.[0-9]+)?" onInput={(e) => setLon(e.currentTarget.value)} size={9} />
        </label>
        <button type="submit" disabled={busy || !chosen}>
          {busy ? 'Registering…' : 'Register'}
        </button>
      </form>
      <p>
        <label>
          Or register many from a CSV file <input type="file" accept=".csv,text/csv" disabled={busy} onChange={(e) => fromFile(e.currentTarget.files?.[0])} />
        </label>
      </p>
      <p class="muted">A header row, then one device a line; columns: profile (required), name, username, lon, lat, alt, placement, installedAt, removedAt.</p>
      {error && <ErrorBox error={error} />}
    </section>
  );
}
