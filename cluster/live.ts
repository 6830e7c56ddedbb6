import type { Channels } from './channel.js';

/** A reading as the live feed carries it; JSON-safe (times are epoch ms). */
type Reading = { readonly pilotId: string };

/**
 * The live feed across nodes: each batch this node stores goes to the others
 * as one message, and each batch another node stored is handed to this node's
 * live subscribers. A node's own readings reach its subscribers directly, never
 * back through Redis, so none arrives twice. While Redis is away, other nodes'
 * readings are missed by live streams here (they are stored all the same and
 * can be read back); this node's own keep flowing.
 */
export class LiveRelay<R extends Reading> {
  readonly #channels: Channels;

  constructor(channels: Channels) {
    this.#channels = channels;
  }

  /** Hands the other nodes' batches to `deliver` (the local live feed's `publish`). */
  async start(deliver: (readings: readonly R[]) => void): Promise<void> {
    await this.#channels.listen('live', (body) => {
      if (Array.isArray(body) && body.length > 0) deliver(body as R[]);
    });
  }

  /** A batch stored here: one message to the other nodes. */
  stored(readings: readonly R[]): void {
    if (readings.length > 0) this.#channels.send('live', readings);
  }
}
