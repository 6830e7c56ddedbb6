import type { InfluxConfig } from '../../core/index.js';
import { QueryTimeExceeded } from '../types.js';
import type { QueryResponse } from './influxql.js';

/** How long a query, ping or set-up request may take. */
export const REQUEST_TIMEOUT_MS = 10_000;

/**
 * Where readings live and how to reach them, derived once from the configuration.
 * The bucket is `database` or `database/retention-policy`: InfluxDB 1.x names them
 * so, and 2.x/3.x map `/query`'s `db`/`rp` to a bucket the same way.
 */
export interface InfluxServer {
  /** Base URL without a trailing slash. */
  readonly url: string;
  readonly bucket: string;
  readonly db: string;
  readonly rp: string | undefined;
  readonly org: string | undefined;
  /** A `user:password` token; InfluxDB 1.x takes it as the `u` and `p` parameters. */
  readonly user: { readonly username: string; readonly password: string } | undefined;
  /** Any other token, sent as `Authorization: Token <token>`. */
  readonly token: string | undefined;
}

export function describeServer(config: InfluxConfig): InfluxServer {
  const slash = config.bucket.indexOf('/');
  const colon = config.token?.indexOf(':') ?? -1;
  return {
    url: config.url.replace(/\/+$/, ''),
    bucket: config.bucket,
    db: slash < 0 ? config.bucket : config.bucket.slice(0, slash),
    rp: slash < 0 ? undefined : config.bucket.slice(slash + 1) || undefined,
    org: config.org,
    user: config.token && colon > 0 ? { username: config.token.slice(0, colon), password: config.token.slice(colon + 1) } : undefined,
    token: config.token && colon <= 0 ? config.token : undefined,
  };
}

/** The server's major version from its `X-Influxdb-Version` header (`1.6.7~rc0`, `v2.7.4`, `3.0.1`). */
export function majorVersion(header: string | null): number | undefined {
  const match = header === null ? null : /^v?(\d+)\./.exec(header.trim());
  return match ? Number(match[1]) : undefined;
}

export interface QueryOptions {
  /** POST for statements that change the server (CREATE ...), as InfluxDB 1.x requires. */
  readonly method?: 'GET' | 'POST';
  /** False for server-wide statements, which take no `db`/`rp`. */
  readonly db?: boolean;
  /**
   * Epoch ms by which the answer must have come. Past it the request is
   * abandoned with QueryTimeExceeded (the question was too big), not
   * InfluxQueryError (the server failed). Without it: REQUEST_TIMEOUT_MS.
   */
  readonly deadline?: number;
}

/** The answer of `GET /ping`, or the network error. Used at open (version) and by `ping()`. */
export async function ping(server: InfluxServer, timeoutMs = REQUEST_TIMEOUT_MS): Promise<Response> {
  const headers: Record<string, string> = server.token ? { authorization: `Token ${server.token}` } : {};
  const res = await fetch(`${server.url}/ping`, { headers, signal: AbortSignal.timeout(timeoutMs) });
  await res.body?.cancel();
  return res;
}

/** A failed `/query` request: `status` is the HTTP status, or undefined when there was no answer. */
export class InfluxQueryError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'InfluxQueryError';
  }
}

/**
 * Runs InfluxQL over `/query`, the query API InfluxDB 1.x, 2.x and 3.x share, with
 * `epoch=ms` so times come back as epoch milliseconds. Auth: a `user:password`
 * token goes as the `u`/`p` parameters (1.x, and the v1 compatibility auth of 2.x
 * and 3.x); any other token as `Authorization: Token`. Throws InfluxQueryError on a
 * network or HTTP error, or when the body is not JSON; statement errors are in the body.
 */
export async function query(server: InfluxServer, q: string, options: QueryOptions = {}): Promise<QueryResponse> {
  const params = new URLSearchParams({ q, epoch: 'ms' });
  if (options.db !== false) {
    params.set('db', server.db);
    if (server.rp) params.set('rp', server.rp);
  }
  const headers: Record<string, string> = { accept: 'application/json' };
  if (server.user) {
    params.set('u', server.user.username);
    params.set('p', server.user.password);
  } else if (server.token) headers.authorization = `Token ${server.token}`;

  const method = options.method ?? 'GET';
  const deadline = options.deadline === undefined ? undefined : AbortSignal.timeout(Math.max(1, options.deadline - Date.now()));
  const signal = deadline ? AbortSignal.any([deadline, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]) : AbortSignal.timeout(REQUEST_TIMEOUT_MS);
  let res: Response;
  let text: string;
  try {
    // Parameters go in the URL for POST too: 1.x reads `u`/`p` from the URL only.
    res = await fetch(`${server.url}/query?${params}`, { method, headers, signal });
    text = await res.text();
  } catch (err) {
    if (deadline?.aborted) throw new QueryTimeExceeded();
    throw new InfluxQueryError(`InfluxDB at ${server.url} did not answer: ${errorText(err)}`, undefined, { cause: err });
  }
  let body: QueryResponse | undefined;
  try {
    body = JSON.parse(text) as QueryResponse;
  } catch {
    body = undefined;
  }
  if (!res.ok || !body) {
    const detail = typeof body?.error === 'string' ? body.error : text.slice(0, 300) || res.statusText;
    throw new InfluxQueryError(`InfluxDB answered ${res.status}: ${detail}`, res.status);
  }
  return body;
}

/** The message of an error and of its cause (fetch puts the reason, e.g. ECONNREFUSED, in the cause). */
export function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error && !err.message.includes(err.cause.message) ? `: ${err.cause.message}` : '';
  return err.message + cause;
}
