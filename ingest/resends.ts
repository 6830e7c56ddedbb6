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
