import type { Duplex } from 'node:stream';
import { framesReadings } from './readings-path.js';

/**
 * Reads MQTT fixed headers as bytes pass and reports the first packet longer
 * than `maxBytes`, before its body arrives. MQTT allows packets of 256 MB and
 * the packet parser buffers each whole packet, so without this one connection
 * (even one that never authenticates: CONNECT comes first) could make the
 * broker hold a quarter of a gigabyte.
 *
 * Fixed header [MQTT-2.2]: one byte of type and flags, then the remaining length
 * in 1 to 4 bytes, 7 bits each, least significant first [MQTT-2.2.3].
 */
export class PacketLengthWatch {
  readonly #max: number;
  #state: 'type' | 'length' | 'body' = 'type';
  #length = 0;
  #multiplier = 1;
  #lengthBytes = 0;
  #left = 0;

  constructor(maxBytes: number) {
    this.#max = maxBytes;
  }

  /** Follows `chunk`; returns the remaining length of the first packet over the limit (or malformed: -1), else undefined. */
  inspect(chunk: Buffer): number | undefined {
    let i = 0;
    while (i < chunk.length) {
      if (this.#state === 'body') {
        const n = Math.min(this.#left, chunk.length - i);
        this.#left -= n;
        i += n;
        if (this.#left === 0) this.#state = 'type';
      } else if (this.#state === 'type') {
        i++;
        this.#state = 'length';
        this.#length = 0;
        this.#multiplier = 1;
        this.#lengthBytes = 0;
      } else {
        const byte = chunk[i++]!;
        this.#length += (byte & 0x7f) * this.#multiplier;
        this.#multiplier *= 128;
        this.#lengthBytes++;
        if (byte & 0x80) {
          if (this.#lengthBytes === 4) return -1; // [MQTT-2.2.3]: at most four bytes
          continue;
        }
        if (this.#length > this.#max) return this.#length;
        this.#left = this.#length;
        this.#state = this.#left > 0 ? 'body' : 'type';
      }
    }
    return undefined;
  }
}

/**
 * The most one read hands the broker once the readings path frames the
 * connection (see readings-path.ts, which reads on in the next turn of the
 * event loop while more waits). The broker reads all a socket holds at once,
 * and Node reads a busy socket up to 32 times in one turn, so devices that
 * flood (QoS 0 has no window) held every other connection, the journal's
 * syncs and the API for 300 ms at a time in `npm run bench`. The rest stays in
 * the socket's buffer, so nothing read is left unhandled when the connection
 * closes.
 */
export const READ_BYTES = 16 * 1024;

/**
 * Watches the reads of a socket (or WebSocket stream) the broker reads: a
 * packet longer than `maxBytes` closes the connection as soon as its header is
 * read, before its body is, and, once the readings path frames the
 * connection, no read returns more than READ_BYTES. The
 * broker pulls bytes with `socket.read()` (paused mode), so this wraps that
 * one method; writes pass untouched. (A Duplex in between cost a fifth of the
 * QoS 1 throughput in `npm run bench`: every PUBACK then went through a second
 * stream.)
 */
export function limitReads<S extends Duplex>(socket: S, maxBytes: number, onTooLong: (length: number) => void): S {
  const watch = new PacketLengthWatch(maxBytes);
  const read = socket.read.bind(socket);
  socket.read = (size?: number) => {
    const capped = size == null && socket.readableLength > READ_BYTES && framesReadings(socket);
    const chunk = read(capped ? READ_BYTES : size) as Buffer | string | null;
    if (chunk === null || typeof chunk === 'string') return chunk;
    const tooLong = watch.inspect(chunk);
    if (tooLong === undefined) return chunk;
    onTooLong(tooLong);
    socket.destroy();
    return null;
  };
  return socket;
}
