import { useState } from 'preact/hooks';
import type { CreatedDevice, Measurement } from '../types.js';

/** Copies text to the clipboard; says so, or says to copy by hand where the browser refuses. */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  const copy = () =>
    navigator.clipboard.writeText(text).then(
      () => setState('copied'),
      () => setState('failed'),
    );
  return (
    <button type="button" class="copy" onClick={() => void copy()}>
      {state === 'copied' ? `Copied the ${label}` : state === 'failed' ? `Select and copy the ${label} by hand` : `Copy ${label}`}
    </button>
  );
}

/** A shell word, quoted when it needs to be (POSIX single quotes). */
const sh = (word: string) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`);

/** A value in the middle of the measurement's plausible (else physical) range: a reading the gateway will accept and not flag. */
function sample(m: Measurement): number {
  const range = m.plausible ?? m.range;
  return range ? Math.round(((range.min + range.max) / 2) * 10) / 10 : 1;
}

/**
 * A ready `mosquitto_pub` line for the device's credentials: one reading with
 * a plausible value of its first measurement. For a WebSocket broker address
 * (which mosquitto_pub cannot use) it says so instead.
 */
export function mosquittoPub(device: CreatedDevice, measurements: readonly Measurement[]): string {
  const broker = new URL(device.mqtt.url);
  if (broker.protocol !== 'mqtt:' && broker.protocol !== 'mqtts:')
    return `# ${device.mqtt.url} is a WebSocket address; use an MQTT client that speaks WebSocket`;
  const tls = broker.protocol === 'mqtts:';
  const port = broker.port || (tls ? '8883' : '1883');
  const first = measurements[0];
  const payload = JSON.stringify(first ? { [first.name]: sample(first) } : {});
  const parts = ['mosquitto_pub', '-h', broker.hostname, '-p', port, ...(tls ? ['--capath', '/etc/ssl/certs'] : []), '-u', device.mqtt.username];
  parts.push('-P', device.mqtt.password, '-q', '1', '-t', device.mqtt.topic, '-m', payload);
  return parts.map(sh).join(' ');
}

/**
 * A device's MQTT credentials, shown once: after registration or a secret
 * rotation. The password is stored only as a digest, so the page says plainly
 * that this is the only time it can be seen.
 */
export function Credentials({ device, measurements, onDone }: { device: CreatedDevice; measurements: readonly Measurement[]; onDone: () => void }) {
  const line = mosquittoPub(device, measurements);
  return (
    <section class="card secret" aria-labelledby={`cred-${device.id}`} role="region">
      <h2 id={`cred-${device.id}`}>Credentials of {device.name ?? device.id}</h2>
      <p>
        <strong>Copy the password now: it is shown only this once.</strong> The gateway keeps only a digest of it; a lost password is replaced by rotating the
        secret.
      </p>
      <dl class="facts">
        <div>
          <dt>Broker</dt>
          <dd>
            <code>{device.mqtt.url}</code>
          </dd>
        </div>
        <div>
          <dt>Username</dt>
          <dd>
            <code>{device.mqtt.username}</code>
          </dd>
        </div>
        <div>
          <dt>Password</dt>
          <dd>
            <code class="password">{device.mqtt.password}</code> <CopyButton text={device.mqtt.password} label="password" />
          </dd>
        </div>
        <div>
          <dt>Topic</dt>
          <dd>
            <code>{device.mqtt.topic}</code>
          </dd>
        </div>
      </dl>
      <p>Publish a first reading with:</p>
      <pre class="command">
        <code>{line}</code>
      </pre>
      <p>
        <CopyButton text={line} label="mosquitto_pub command" />{' '}
        <button type="button" onClick={onDone}>
          I have copied it
        </button>
      </p>
    </section>
  );
}
