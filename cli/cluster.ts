import type { ApiDeps } from '../api/index.js';
import { joinCluster, type Cluster, type NodeView } from '../cluster/index.js';
import type { Config, EventBus, Logger } from '../core/index.js';
import type { Gateway } from '../gateway/index.js';
import type { Ingest } from '../ingest/index.js';

type Sessions = NonNullable<ApiDeps['sessions']>;

/** This process as one of the gateway nodes sharing `TESTBED_REDIS_URL`: the parts each stage takes, and their wiring. */
export interface ClusterNode {
  readonly resends: Cluster['resends'];
  readonly broker: Cluster['broker'];
  readonly rateBuckets: NonNullable<ApiDeps['rateBuckets']>;
  /** This node and the others alive, with their connection counts (empty until attached). */
  nodes(): NodeView[];
  /**
   * Wires the running stages to the other nodes (disconnects, presence, live
   * feed) and answers the device sessions the API and erasure use: disconnects
   * reach every node, and a device is online when any node holds it.
   */
  attach(stages: { gateway: Gateway; ingest: Ingest; events: EventBus }): Promise<Sessions>;
  stop(): Promise<void>;
}

/** Joins the nodes on Redis (loaded only when `TESTBED_REDIS_URL` is set). */
export function openClusterNode(config: Config, log: Logger): ClusterNode {
  const cluster = joinCluster(config.redisUrl!, config.nodeId, log);
  let off: (() => void) | undefined;
  let attached = false;
  return {
    resends: cluster.resends,
    broker: cluster.broker,
    rateBuckets: (name, local) => cluster.bucket(name, local),
    nodes: () => (attached ? cluster.presence.nodes() : []),
    async attach({ gateway, ingest, events }) {
      await cluster.start({ connections: () => gateway.connectedDevices(), disconnect: (deviceId, reason) => gateway.disconnect(deviceId, reason) });
      const presence = cluster.presence;
      attached = true;
      off = events.on((event) => {
        if (!event.deviceId) return;
        if (event.type === 'device.connected') presence.connected(event.deviceId);
        else if (event.type === 'device.disconnected') presence.disconnected(event.deviceId);
      });
      ingest.onDelivered((readings) => cluster.live.stored(readings));
      await cluster.live.start((readings) => ingest.live.publish(readings as Parameters<Ingest['live']['publish']>[0]));
      return {
        disconnect(deviceId, reason = 'revoked') {
          gateway.disconnect(deviceId, reason);
          cluster.disconnectEverywhere(deviceId, reason);
        },
        isOnline: (deviceId) => gateway.isOnline(deviceId) || presence.onlineElsewhere(deviceId),
        lastSeen: (deviceId) => gateway.lastSeen(deviceId),
        connectedDevices: () => gateway.connectedDevices(),
      };
    },
    async stop() {
      off?.();
      await cluster.stop();
    },
  };
}
