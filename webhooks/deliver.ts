import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { WebhookUrlPolicy } from '../core/index.js';

const TIMEOUT_MS = 15_000;
const USER_AGENT = 'testbed-gateway-webhooks';

/** What one POST came to: the status when the receiver answered, else why not. */
export interface PostResult {
  readonly statusCode: number | null;
  readonly error: string | null;
  readonly durationMs: number;
}

/**
 * Resolves like the system does, then refuses when any address is one the
 * policy forbids. It runs inside the connection itself, so the address checked
 * is the address connected to: a name that resolves to a public address when
 * the webhook is made and to a private one later (DNS rebinding) is caught.
 */
function guardedLookup(policy: WebhookUrlPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const refused = addresses.map((a) => policy.refuseAddress(hostname, a.address)).find((r) => r !== undefined);
      if (refused) return callback(Object.assign(new Error(`TESTBED_WEBHOOK_URL_NOT_ALLOWED: ${refused}`), { code: 'TESTBED_WEBHOOK_URL_NOT_ALLOWED' }), '', 0);
      const first = addresses[0];
      if (options.all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, addresses);
      if (!first) return callback(new Error(`${hostname} has no address`), '', 0);
      callback(null, first.address, first.family);
    });
  };
}

/** POSTs a body with headers, without following redirects; never throws. */
export function post(policy: WebhookUrlPolicy, rawUrl: string, headers: Record<string, string>, body: string): Promise<PostResult> {
  const started = performance.now();
  const elapsed = () => Math.round((performance.now() - started) * 10) / 10;
  return new Promise((resolve) => {
    let url: URL;
    try {
      url = new URL(rawUrl);
    } catch {
      return resolve({ statusCode: null, error: 'not a URL', durationMs: 0 });
    }
    // A literal address never reaches the lookup, so it is checked here.
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const literal = isIP(host) !== 0 ? policy.refuseAddress(host, host) : undefined;
    if (literal) return resolve({ statusCode: null, error: `TESTBED_WEBHOOK_URL_NOT_ALLOWED: ${literal}`, durationMs: 0 });
    const client = url.protocol === 'https:' ? https : http;
    const request = client.request(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'user-agent': USER_AGENT, ...headers },
        lookup: guardedLookup(policy),
        timeout: TIMEOUT_MS,
      },
      (response) => {
        response.resume();
        response.on('end', () => resolve({ statusCode: response.statusCode ?? null, error: null, durationMs: elapsed() }));
        response.on('error', (err) => resolve({ statusCode: response.statusCode ?? null, error: err.message, durationMs: elapsed() }));
      },
    );
    request.on('timeout', () => request.destroy(new Error(`no answer within ${TIMEOUT_MS / 1000} s`)));
    request.on('error', (err) => resolve({ statusCode: null, error: err.message, durationMs: elapsed() }));
    request.end(body);
  });
}
