/**
 * The packet identifiers of one connection's outgoing QoS 1 messages, and the
 * command each carries. The gateway numbers every QoS 1 message to a device
 * itself (in `authorizeForward`), so the PUBACK naming an identifier
 * [MQTT-2.3.1-6] tells exactly which command arrived; an identifier is not
 * used again while it awaits its PUBACK [MQTT-2.3.1-2].
 */
export class OutgoingIds {
  #next = 1;
  /** Identifier -> the command it carries (undefined for another message). */
  readonly #awaiting = new Map<number, string | undefined>();

  /** A free identifier (1..65535), noted as awaiting its PUBACK. */
  take(commandId: string | undefined): number {
    // At most 65535 can await at once; a device holding that many unacknowledged is closed by its drain timeout long before.
    while (this.#awaiting.has(this.#next)) this.#next = this.#next >= 65535 ? 1 : this.#next + 1;
    const id = this.#next;
    this.#next = id >= 65535 ? 1 : id + 1;
    this.#awaiting.set(id, commandId);
    return id;
  }

  /** An identifier given by the broker (a stored session's message sent again), noted so it is not taken. */
  note(id: number, commandId: string | undefined): void {
    this.#awaiting.set(id, commandId);
  }

  /** Whether this command awaits its PUBACK here. */
  carries(commandId: string): boolean {
    for (const c of this.#awaiting.values()) if (c === commandId) return true;
    return false;
  }

  /** The PUBACK for `id` came: frees it, and says which command it carried. */
  release(id: number): string | undefined {
    const commandId = this.#awaiting.get(id);
    this.#awaiting.delete(id);
    return commandId;
  }
}
