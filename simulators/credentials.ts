import { z } from 'zod';
import { isSafeTopicSegment } from '../core/index.js';
import { SimulatorError } from './errors.js';

/** What a virtual device needs to connect as a registered device. */
export const deviceCredentialsSchema = z.object({
  deviceId: z.string().refine(isSafeTopicSegment, 'must be a device id (letters, digits and _ . : @ -)'),
  username: z.string().min(1),
  password: z.string().min(1),
  /** The device's profile id; when absent the run's profile is used. */
  profile: z.string().min(1).optional(),
});

export type DeviceCredentials = z.infer<typeof deviceCredentialsSchema>;

/** A credentials file: a JSON array of device credentials, as `provisionDevices` returns them. */
export const credentialsFileSchema = z.array(deviceCredentialsSchema).min(1, 'lists no devices');

/** Parses the text of a credentials file; `where` names it in the error. */
export function parseCredentials(text: string, where: string): DeviceCredentials[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new SimulatorError('bad-input', `${where} is not valid JSON (${(err as Error).message})`);
  }
  const parsed = credentialsFileSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${formatPath(i.path) || '(top)'}: ${i.message}`);
    throw new SimulatorError('bad-input', `${where} is not a list of { deviceId, username, password, profile }:\n  ${problems.join('\n  ')}`);
  }
  return parsed.data;
}

/** `[2].username` for the path [2, 'username']. */
function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
    .join('')
    .replace(/^\./, '');
}
