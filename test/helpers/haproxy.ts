import { startHaproxy, type Haproxy } from '../../cli/cluster/haproxy.js';
import type { BackendNode } from '../../cli/cluster/haproxy-config.js';
import { freePorts } from './ports.js';
import { tempDir } from './tmp.js';

export type { Haproxy } from '../../cli/cluster/haproxy.js';

/**
 * Debian's `haproxy` in front of `nodes` on 127.0.0.1 free ports: MQTT in TCP
 * mode (least connections, TCP checks), the API in HTTP mode (`GET /v1/health`
 * checks, X-Forwarded-For). Checks every 200 ms so a killed node is taken out
 * within a second. `stop` ends it and removes its folder.
 */
export async function startHaproxyFor(nodes: readonly Omit<BackendNode, 'host'>[]): Promise<Haproxy> {
  const tmp = tempDir('testbed-haproxy-');
  let lastError: unknown;
  // A port found free can be taken before haproxy binds it: try again with new ones.
  for (let attempt = 1; attempt <= 3; attempt++) {
    const [mqttPort, httpPort] = (await freePorts(2)) as [number, number];
    try {
      const proxy = await startHaproxy({
        dir: tmp.dir,
        layout: {
          bind: { host: '127.0.0.1', mqttPort, httpPort },
          nodes: nodes.map((n) => ({ ...n, host: '127.0.0.1' })),
          checkIntervalMs: 200,
          maxConnections: 2000,
        },
      });
      return {
        ...proxy,
        async stop() {
          await proxy.stop();
          tmp.remove();
        },
      };
    } catch (err) {
      lastError = err;
    }
  }
  tmp.remove();
  throw lastError;
}
