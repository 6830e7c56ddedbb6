import type { Logger } from '../core/index.js';
import { brokerParts, type BrokerParts } from './broker.js';
import { Channels } from './channel.js';
import { closeRedis, connectRedis } from './connection.js';
import { LiveRelay } from './live.js';
import { Presence } from './presence.js';
import { SharedBucket } from './rate-limit.js';
import { SharedResends } from './resends.js';

export type { BrokerParts } from './broker.js';
export type { NodeView } from './presence.js';
export { HEARTBEAT_MS, NODE_TTL_MS } from './presence.js';
export { RESEND_WINDOW_MS } from './resends.js';

/** Why every node is asked to close a device's connections. */
type DisconnectReason = 'revoked' | 'pilot ended';

/** What the node needs from the rest of the pipeline once it runs. */
export interface ClusterHooks {
  /** MQTT connections open on this node now (its heartbeat carries it). */
  connections(): number;
  /** Closes this node's connections of a device another node asked to disconnect. */
  disconnect(deviceId: string, reason: DisconnectReason): void;
}

/** One gateway node among several that share a Redis. */
export interface Cluster {
  readonly nodeId: string;
  /** The broker's bus and session store on Redis, for the gateway. */
  readonly broker: BrokerParts;
  /** Which node holds each device; connection counts per node. */
  readonly presence: Presence;
  /** The resend memory across nodes, for ingest. */
  readonly resends: SharedResends;
  /** The live feed across nodes: batches stored here go out, the others' come in. */
  readonly live: LiveRelay<{ readonly pilotId: string }>;
  /** A rate limiter every node shares, falling back to `local` while Redis is away. */
  bucket<B extends { readonly limit: { perSecond: number; burst: number }; take(key: string): number | Promise<number> }>(name: string, local: B): SharedBucket;
  /** Asks every other node to close the device's connections (this node closes its own). */
  disconnectEverywhere(deviceId: string, reason: DisconnectReason): void;
  /** Starts listening to the other nodes and beating the heart. */
  start(hooks: ClusterHooks): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Joins the nodes sharing the Redis at `url`. Connections: three for the
 * broker (bus publisher and subscriber, sessions), one for commands that may
 * wait for Redis (presence, channel messages), one that fails fast (rate
 * limits, resend checks) and one subscriber for the channels.
 */
export function joinCluster(url: string, nodeId: string, parentLog: Logger): Cluster {
  const log = parentLog.child({ stage: 'cluster', nodeId });
  const commands = connectRedis(url, log, 'commands');
  const fast = connectRedis(url, log, 'checks', { failFast: true });
  const subscriber = connectRedis(url, log, 'channels');
  const channels = new Channels(nodeId, commands, subscriber, log);
  let presence: Presence | undefined;
  const live = new LiveRelay<{ readonly pilotId: string }>(channels);
  const cluster: Cluster = {
    nodeId,
    broker: brokerParts(url, nodeId, log),
    get presence(): Presence {
      if (!presence) throw new Error('the cluster has not started');
      return presence;
    },
    resends: new SharedResends(fast, log),
    live,
    bucket: (name, local) => new SharedBucket(fast, name, local),
    disconnectEverywhere: (deviceId, reason) => channels.send('disconnect', { deviceId, reason }),
    async start(hooks) {
      presence = new Presence(nodeId, commands, channels, log, hooks.connections);
      await channels.listen('disconnect', (body) => {
        const { deviceId, reason } = body as { deviceId: string; reason: DisconnectReason };
        hooks.disconnect(deviceId, reason);
      });
      await presence.start();
      log.info('joined the nodes sharing Redis');
    },
    async stop() {
      await presence?.stop();
      await Promise.all([commands, fast, subscriber].map(closeRedis));
    },
  };
  return cluster;
}
