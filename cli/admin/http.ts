import { TestbedError } from '../../core/index.js';

/** An error answer of the API: its code and message as the server gave them. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The one HTTP client of the admin commands: the key and the error shape are handled here, once. */
export interface ApiClient {
  readonly url: string;
  /** Calls `/v1<path>`; resolves with the parsed JSON body, or rejects with an ApiError or TESTBED_API_UNREACHABLE. */
  request(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<unknown>;
}

const TIMEOUT_MS = 30_000;

export function apiClient(url: string, key: string): ApiClient {
  return {
    url,
    async request(method, path, body) {
      let response: Response;
      try {
        response = await fetch(`${url}/v1${path}`, {
          method,
          headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
      } catch (err) {
        const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
        throw new TestbedError('TESTBED_API_UNREACHABLE', `could not reach ${url} (${cause}); is the server running there? Set TESTBED_API_URL or --url`);
      }
      const text = await response.text();
      let parsed: unknown;
      try {
        parsed = text === '' ? undefined : JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      if (response.ok) return parsed;
      const error = (parsed as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
      throw new ApiError(
        response.status,
        error?.code ?? `HTTP_${response.status}`,
        error?.message ?? (text.slice(0, 200) || response.statusText),
        error?.details,
      );
    },
  };
}
