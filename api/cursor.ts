import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { TestbedError } from '../core/index.js';
import type { Position } from '../store/index.js';

interface Claims {
  /** The key the cursor was issued to. */
  readonly k: string;
  /** A digest of the query it continues. */
  readonly q: string;
  /** The last row returned: its time and device. */
  readonly t: number;
  readonly d: string;
}

const b64 = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

/**
 * Paging cursors: opaque to clients, bound to the key that got them and to the
 * query they continue, signed (HMAC-SHA256) with a secret kept in the registry so
 * they outlive a restart. A cursor names a position in (time, device) order, so
 * readings stored meanwhile before it are not repeated and none after it is skipped.
 */
export class CursorCodec {
  readonly #secret: Buffer;

  constructor(secret: Buffer) {
    this.#secret = secret;
  }

  /** `query` is a canonical description of the query (without cursor, limit or format). */
  encode(keyId: string, query: string, position: Position): string {
    const claims: Claims = { k: keyId, q: digest(query), t: position.time, d: position.deviceId };
    const body = b64(JSON.stringify(claims));
    return `${body}.${this.#sign(body)}`;
  }

  /** The position a cursor names; 400 when it is not ours, or was issued to another key or for another query. */
  decode(cursor: string, keyId: string, query: string): Position {
    const [body, signature, extra] = cursor.split('.');
    const expected = body === undefined ? undefined : Buffer.from(this.#sign(body));
    const given = Buffer.from(signature ?? '');
    if (extra !== undefined || !expected || expected.length !== given.length || !timingSafeEqual(expected, given)) {
      throw bad('The cursor is not one this server issued; pass `next` from the previous page unchanged');
    }
    const claims = JSON.parse(Buffer.from(body as string, 'base64url').toString('utf8')) as Claims;
    if (claims.k !== keyId) throw bad('The cursor was issued to another API key; start from the first page with this key');
    if (claims.q !== digest(query)) throw bad('The cursor belongs to another query; repeat the request it came from, changing only cursor (and limit)');
    return { time: claims.t, deviceId: claims.d };
  }

  #sign(body: string): string {
    return createHmac('sha256', this.#secret).update(body).digest('base64url');
  }
}

const digest = (query: string): string => createHash('sha256').update(query).digest('base64url').slice(0, 22);

const bad = (message: string): TestbedError => new TestbedError('TESTBED_BAD_REQUEST', message, [{ in: 'querystring', field: 'cursor', message }]);
