import type { Rejection } from '../store/index.js';
import type { MessageOutcome } from './pipeline.js';

/**
 * A memory of acknowledged QoS 1 messages that other gateway nodes share
 * (cluster/ keeps it in Redis), so that a device whose PUBACK was lost and who
 * reconnects to another node is recognised there. Optional: one node alone
 * has its own `DuplicateFilter`.
 */
export interface ResendMemory {
  /** A message was acknowledged here (its outcome is on disk). Called on the acknowledgement path: batch, never wait. */
  acknowledged(deviceId: string, messageId: number, hash: number): void;
  /** Whether another node acknowledged this message; false when it cannot tell in time. Asked only for a DUP message unknown here. */
  acknowledgedElsewhere(deviceId: string, messageId: number, hash: number): Promise<boolean>;
}

/** Wraps an acknowledgement so that, once it succeeds, the message's key is shared. */
export function sharingAcknowledgement(
  memory: ResendMemory,
  key: readonly [string, number, number],
  done: (error?: Error | null) => void,
): (error?: Error | null) => void {
  return (error) => {
    if (!error) memory.acknowledged(key[0], key[1], key[2]);
    done(error);
  };
}

const NOTHING: MessageOutcome = { readings: [], rejections: [] };

/**
 * A DUP message this node does not know: if another node acknowledged it, it
 * is acknowledged again and not stored twice (counted as a duplicate); else
 * `admit` takes it as new. Decided once Redis answers, so the rejections of a
 * message admitted then reach the device as later notices do (`refused`).
 */
export function resentElsewhere(
  memory: ResendMemory,
  key: readonly [string, number, number],
  done: (error?: Error | null) => void,
  admit: () => MessageOutcome,
  counts: { duplicates: number },
  refused: readonly ((rejections: readonly Rejection[]) => void)[],
): MessageOutcome {
  void memory.acknowledgedElsewhere(key[0], key[1], key[2]).then((seen) => {
    if (seen) {
      counts.duplicates++;
      return done();
    }
    const { rejections } = admit();
    if (rejections.length > 0) for (const listener of refused) listener(rejections);
  });
  return NOTHING;
}
