/** One gateway node as HAProxy reaches it. */
export interface BackendNode {
  /** A name for HAProxy's logs and stats (letters, digits, `.`, `-`, `_`). */
  readonly name: string;
  readonly host: string;
  readonly mqttPort: number;
  readonly httpPort: number;
}

export interface HaproxyLayout {
  /** Where the frontends listen. */
  readonly bind: { readonly host: string; readonly mqttPort: number; readonly httpPort: number };
  readonly nodes: readonly BackendNode[];
  /** A Unix socket for `show stat` (the servers' UP/DOWN); none when undefined. */
  readonly statsSocket?: string | undefined;
  /** Connections HAProxy holds at once, devices and API clients together (it needs two open files each); 9000 by default. */
  readonly maxConnections?: number | undefined;
  /** Milliseconds between health checks of a node; two failures take it out, two successes bring it back. */
  readonly checkIntervalMs?: number | undefined;
}

const hostPort = (host: string, port: number) => `${host.includes(':') ? `[${host}]` : host}:${port}`;

/**
 * An HAProxy configuration for gateway nodes: MQTT in TCP mode to the node with
 * the fewest connections (an MQTT connection lives for hours, so counting them
 * spreads better than taking turns), the API in HTTP mode in turns, each node
 * checked on its own ports: a TCP connect on MQTT, `GET /v1/health` on the API.
 */
export function haproxyConfig(layout: HaproxyLayout): string {
  const inter = layout.checkIntervalMs ?? 1000;
  const check = `check inter ${inter} fall 2 rise 2`;
  const servers = (port: (n: BackendNode) => number) => layout.nodes.map((n) => `  server ${n.name} ${hostPort(n.host, port(n))} ${check}`).join('\n');
  return `# Generated for ${layout.nodes.length} testbed gateway node(s).
global
  maxconn ${layout.maxConnections ?? 9000}
${layout.statsSocket ? `  stats socket ${layout.statsSocket} mode 600 level admin\n` : ''}
defaults
  timeout connect 2s
  # MQTT connections and live streams are long-lived; the gateway's keepalive closes silent ones first.
  timeout client 1h
  timeout server 1h
  timeout check 2s
  # A node taken out closes its connections, so devices reconnect to one that is up.
  option redispatch
  retries 2

frontend mqtt
  mode tcp
  bind ${hostPort(layout.bind.host, layout.bind.mqttPort)}
  default_backend mqtt_nodes

backend mqtt_nodes
  mode tcp
  balance leastconn
  option tcp-check
  tcp-check connect
  default-server on-marked-down shutdown-sessions
${servers((n) => n.mqttPort)}

frontend api
  mode http
  bind ${hostPort(layout.bind.host, layout.bind.httpPort)}
  # The gateway believes X-Forwarded-For from addresses in TESTBED_TRUSTED_PROXIES.
  option forwardfor
  default_backend api_nodes

backend api_nodes
  mode http
  balance roundrobin
  option httpchk GET /v1/health
  http-check expect status 200
${servers((n) => n.httpPort)}
`;
}
