/**
 * The open connections of each device. Almost every device holds one, so one
 * is kept as itself and only a second makes a set: with tens of thousands
 * of devices connected, a set each (about 150 bytes) is memory for nothing.
 */
export class OnlineDevices<C> {
  readonly #byDevice = new Map<string, C | Set<C>>();

  add(deviceId: string, connection: C): void {
    const held = this.#byDevice.get(deviceId);
    if (held === undefined) this.#byDevice.set(deviceId, connection);
    else if (held instanceof Set) held.add(connection);
    else if (held !== connection) this.#byDevice.set(deviceId, new Set([held, connection]));
  }

  delete(deviceId: string, connection: C): void {
    const held = this.#byDevice.get(deviceId);
    if (held === connection) this.#byDevice.delete(deviceId);
    else if (held instanceof Set) {
      held.delete(connection);
      if (held.size === 1) this.#byDevice.set(deviceId, held.values().next().value as C);
    }
  }

  count(deviceId: string): number {
    const held = this.#byDevice.get(deviceId);
    return held === undefined ? 0 : held instanceof Set ? held.size : 1;
  }

  /** The device's connections, as a copy (closing them changes the table). */
  of(deviceId: string): C[] {
    const held = this.#byDevice.get(deviceId);
    return held === undefined ? [] : held instanceof Set ? [...held] : [held];
  }
}
