import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the receiver took, and whether its signature verified with the secret. */
export interface Received {
  readonly id: string;
  readonly timestamp: number;
  readonly verified: boolean;
  readonly body: { type: string; timestamp: string; data: Record<string, unknown> };
}

/**
 * A real webhook receiver on 127.0.0.1 that verifies each request as
 * Standard Webhooks says, written here independently of the code under test:
 * base64 HMAC-SHA256, keyed with the base64 after `whsec_`, over
 * `id.timestamp.body`, in a `v1,` entry of `webhook-signature`. It can go down
 * and come back on the same port.
 */
export async function webhookReceiver() {
  const received: Received[] = [];
  let secret = '';
  let server: http.Server | undefined;
  let port = 0;
  const handler: http.RequestListener = (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString();
      const id = String(req.headers['webhook-id']);
      const timestamp = Number(req.headers['webhook-timestamp']);
      const expected = createHmac('sha256', Buffer.from(secret.slice('whsec_'.length), 'base64'))
        .update(`${id}.${timestamp}.${raw}`)
        .digest();
      const verified = String(req.headers['webhook-signature'] ?? '')
        .split(' ')
        .some((entry) => {
          const [version, sig = ''] = entry.split(',');
          const given = Buffer.from(sig, 'base64');
          return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected);
        });
      received.push({ id, timestamp, verified, body: JSON.parse(raw) as Received['body'] });
      res.writeHead(verified ? 204 : 401).end();
    });
  };
  const up = () =>
    new Promise<void>((resolve) => {
      server = http.createServer(handler);
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as AddressInfo).port;
        resolve();
      });
    });
  const down = () =>
    new Promise<void>((resolve) => {
      if (!server) return resolve();
      server.close(() => resolve());
      server.closeAllConnections();
      server = undefined;
    });
  await up();
  return {
    received,
    get url() {
      return `http://127.0.0.1:${port}/hook`;
    },
    useSecret: (s: string) => void (secret = s),
    up,
    down,
  };
}
