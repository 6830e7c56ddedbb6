import type { Redis } from 'ioredis';
import type { Logger } from '../core/index.js';
import { PREFIX, type Channels } from './channel.js';

/** How often a node says it is alive (and reads who else is). */
export const HEARTBEAT_MS = 2000;
/** A node not heard of for this long is gone: its devices stop counting as online. */
export const NODE_TTL_MS = 3 * HEARTBEAT_MS;

const nodeKey = (nodeId: string) => `${PREFIX}node:${nodeId}`;
const onlineKey = (nodeId: string) => `${PREFIX}online:${nodeId}`;

/** One node as the others see it. */
export interface NodeView {
  readonly nodeId: string;
  /** Devices connected to it (MQTT connections, as its heartbeat last said). */
  readonly connections: number;
}

interface Change {
  readonly deviceId: string;
  readonly online: boolean;
}

/**
 * Which node holds each device, and how many connections each node has.
 *
 * Each node keeps its connected devices in a hash of its own and its
 * connection count in a key that expires unless its heartbeat renews it, so a
 * node that dies stops counting within `NODE_TTL_MS`. Changes are also sent on
 * a channel, so the other nodes' copy (kept in memory: `isOnline` is
 * answered without a round trip) follows at once; each heartbeat reads the
 * hashes of the nodes alive again, which mends whatever a lost message or a
 * Redis restart (its keys gone: each node writes its hash anew) left wrong.
 */
export class Presence {
  readonly #nodeId: string;
  readonly #redis: Redis;
  readonly #channels: Channels;
  readonly #log: Logger;
  readonly #connections: () => number;
  /** This node's devices and their open connections. */
  readonly #local = new Map<string, number>();
  /** The other nodes alive: their devices and connection counts. */
  #remote = new Map<string, { devices: Set<string>; connections: number }>();
  #timer: NodeJS.Timeout | undefined;
  #beating = false;

  constructor(nodeId: string, redis: Redis, channels: Channels, log: Logger, connections: () => number) {
    this.#nodeId = nodeId;
    this.#redis = redis;
    this.#channels = channels;
    this.#log = log;
    this.#connections = connections;
  }

  async start(): Promise<void> {
    await this.#channels.listen('presence', (body, from) => this.#heard(from, body as Change));
    await this.#redis.del(onlineKey(this.#nodeId));
    this.#timer = setInterval(() => void this.#beat(), HEARTBEAT_MS);
    this.#timer.unref();
    // A reconnected Redis may be a restarted one, with nothing of this node left.
    this.#redis.on('ready', () => void this.#rewrite());
    await this.#beat();
  }

  /** A connection of a device opened here. */
  connected(deviceId: string): void {
    const n = (this.#local.get(deviceId) ?? 0) + 1;
    this.#local.set(deviceId, n);
    if (n === 1) this.#changed(deviceId, true);
  }

  /** A connection of a device here closed. */
  disconnected(deviceId: string): void {
    const n = (this.#local.get(deviceId) ?? 0) - 1;
    if (n > 0) return void this.#local.set(deviceId, n);
    this.#local.delete(deviceId);
    this.#changed(deviceId, false);
  }

  /** Whether another node alive holds a connection of the device. */
  onlineElsewhere(deviceId: string): boolean {
    for (const node of this.#remote.values()) if (node.devices.has(deviceId)) return true;
    return false;
  }

  /** This node and every other alive, with their connection counts. */
  nodes(): NodeView[] {
    const others = [...this.#remote].map(([nodeId, n]) => ({ nodeId, connections: n.connections }));
    return [{ nodeId: this.#nodeId, connections: this.#connections() }, ...others].sort((a, b) => a.nodeId.localeCompare(b.nodeId));
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    if (this.#redis.status !== 'ready') return;
    await this.#redis
      .multi()
      .del(onlineKey(this.#nodeId), nodeKey(this.#nodeId))
      .exec()
      .catch(() => undefined);
  }

  #changed(deviceId: string, online: boolean): void {
    const key = onlineKey(this.#nodeId);
    const write = online ? this.#redis.hset(key, deviceId, '1') : this.#redis.hdel(key, deviceId);
    write.catch((err: unknown) => this.#log.debug({ err }, 'presence not written; the next heartbeat after Redis is back writes it'));
    this.#channels.send('presence', { deviceId, online } satisfies Change);
  }

  #heard(from: string, change: Change): void {
    const node = this.#remote.get(from);
    // A node not yet seen alive is read whole at the next heartbeat.
    if (!node) return;
    if (change.online) node.devices.add(change.deviceId);
    else node.devices.delete(change.deviceId);
  }

  async #rewrite(): Promise<void> {
    const key = onlineKey(this.#nodeId);
    const devices = [...this.#local.keys()];
    const write = this.#redis.multi().del(key);
    if (devices.length > 0) write.hset(key, Object.fromEntries(devices.map((d) => [d, '1'])));
    await write.exec().catch(() => undefined);
  }

  async #beat(): Promise<void> {
    if (this.#beating) return;
    this.#beating = true;
    try {
      await this.#redis.set(nodeKey(this.#nodeId), String(this.#connections()), 'PX', NODE_TTL_MS);
      const keys = await this.#scan(`${PREFIX}node:*`);
      const others = keys.map((k) => k.slice(nodeKey('').length)).filter((id) => id !== this.#nodeId);
      const remote = new Map<string, { devices: Set<string>; connections: number }>();
      for (const nodeId of others) {
        const [count, devices] = await Promise.all([this.#redis.get(nodeKey(nodeId)), this.#redis.hkeys(onlineKey(nodeId))]);
        if (count === null) continue; // gone between the scan and the read
        remote.set(nodeId, { devices: new Set(devices), connections: Number(count) });
      }
      this.#remote = remote;
    } catch (err) {
      // Redis away: the last view stands until it is back (local presence is exact regardless).
      this.#log.debug({ err }, 'presence heartbeat failed');
    } finally {
      this.#beating = false;
    }
  }

  async #scan(pattern: string): Promise<string[]> {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await this.#redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      found.push(...keys);
      cursor = next;
    } while (cursor !== '0');
    return found;
  }
}
