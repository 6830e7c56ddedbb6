import { createHmac } from 'node:crypto';

/** The HMAC key of a `whsec_<base64>` secret: the bytes after the prefix. */
export function signingKey(secret: string): Buffer {
  return Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
}

/**
 * The `webhook-signature` header of a message.
 * // Standard Webhooks: signature — base64 of HMAC-SHA256 over `${id}.${timestamp}.${body}`,
 * // with the secret's decoded bytes as the key, versioned `v1,`.
 */
export function sign(secret: string, id: string, timestampSeconds: number, body: string): string {
  const mac = createHmac('sha256', signingKey(secret)).update(`${id}.${timestampSeconds}.${body}`).digest('base64');
  return `v1,${mac}`;
}

/** The three headers of a delivery attempt; the timestamp is the attempt's own (Standard Webhooks: `webhook-timestamp`). */
export function webhookHeaders(secret: string, id: string, body: string, now: number): Record<string, string> {
  const timestamp = Math.floor(now / 1000);
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': sign(secret, id, timestamp, body),
  };
}
