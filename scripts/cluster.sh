#!/usr/bin/env bash
# Runs a cluster on this machine: N `testbed start` nodes behind HAProxy, sharing
# the registry (PostgreSQL), Redis (coordination) and InfluxDB (the readings).
# Each engine is used from its URL when given, else started here in the
# cluster's folder. Ctrl-C stops everything this script started.
#
#   bash scripts/cluster.sh                  # 3 nodes, MQTT on :1883, API on :8080
#   CLUSTER_NODES=2 bash scripts/cluster.sh
#
# CLUSTER_NODES (3), CLUSTER_DIR (./data/cluster), CLUSTER_MQTT_PORT (1883),
# CLUSTER_HTTP_PORT (8080), CLUSTER_NODE_PORTS (21000: node i listens on
# 21000+2i for MQTT and 21001+2i for HTTP), TESTBED_DATABASE_URL (or
# TESTBED_REGISTRY_FILE: one SQLite file instead, shared by this machine's nodes),
# TESTBED_REDIS_URL, TESTBED_INFLUX_URL (with TESTBED_INFLUX_BUCKET), and
# TESTBED_ADMIN_TOKEN (generated into the folder once, shared by every node).
set -euo pipefail
cd "$(dirname "$0")/.."

nodes=${CLUSTER_NODES:-3}
dir=$(mkdir -p "${CLUSTER_DIR:-./data/cluster}" && cd "${CLUSTER_DIR:-./data/cluster}" && pwd)
mqtt_port=${CLUSTER_MQTT_PORT:-1883}
http_port=${CLUSTER_HTTP_PORT:-8080}
node_ports=${CLUSTER_NODE_PORTS:-21000}
haproxy=$(command -v haproxy || echo /usr/sbin/haproxy)

pids=()
stop_all() {
  trap - INT TERM EXIT
  echo "Stopping..." >&2
  # Nodes first (they deliver their queues), then what they depend on.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[i]}" 2>/dev/null || true; wait "${pids[i]}" 2>/dev/null || true; done
}
trap stop_all EXIT
trap 'stop_all; exit 130' INT TERM

need() { command -v "$1" >/dev/null 2>&1 || [ -x "$2" ] || { echo "$1 is missing (Debian/Ubuntu: apt-get install $3)" >&2; exit 1; }; }
need haproxy /usr/sbin/haproxy haproxy
[ -f dist/cli/testbed.js ] || { bash scripts/deps.sh && npm run build --silent; }

wait_port() { for _ in $(seq 1 150); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.2; done; echo "nothing listens on $1" >&2; exit 1; }
# The registry: PostgreSQL, started here unless TESTBED_DATABASE_URL names one; or, with
# TESTBED_REGISTRY_FILE, one SQLite file that every node of this machine opens (WAL).
if [ -z "${TESTBED_DATABASE_URL:-}" ] && [ -z "${TESTBED_REGISTRY_FILE:-}" ]; then
  pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$pgbin" ] || { echo "PostgreSQL is missing (Debian/Ubuntu: apt-get install postgresql), or set TESTBED_REGISTRY_FILE" >&2; exit 1; }
  pg_port=$((node_ports - 5)) pgdata="$dir/postgres" as=()
  if [ "$(id -u)" -eq 0 ]; then
    # PostgreSQL does not run as root: as the postgres user, in its own home (which it can reach).
    pgdata=/var/lib/postgresql/testbed-cluster as=(runuser -u postgres --)
    mkdir -p "$pgdata" && chown postgres: "$pgdata"
  fi
  if [ ! -f "$pgdata/PG_VERSION" ]; then
    # Trusting local connections is safe only because the server listens on 127.0.0.1 alone.
    "${as[@]}" "$pgbin/initdb" -D "$pgdata" -U testbed --auth=trust -E UTF8 >"$dir/postgres-init.log" 2>&1
  fi
  "${as[@]}" "$pgbin/postgres" -D "$pgdata" -p "$pg_port" -h 127.0.0.1 -k "$pgdata" >"$dir/postgres.log" 2>&1 &
  pids+=($!)
  wait_port "$pg_port"
  for _ in $(seq 1 50); do "$pgbin/psql" -h 127.0.0.1 -p "$pg_port" -U testbed -d postgres -qtAc 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.2; done
  "$pgbin/psql" -h 127.0.0.1 -p "$pg_port" -U testbed -d postgres -qtAc "SELECT 1 FROM pg_database WHERE datname = 'testbed'" | grep -q 1 ||
    "$pgbin/createdb" -h 127.0.0.1 -p "$pg_port" -U testbed testbed
  export TESTBED_DATABASE_URL="postgres://testbed@127.0.0.1:$pg_port/testbed"
fi

if [ -z "${TESTBED_REDIS_URL:-}" ]; then
  need redis-server /usr/bin/redis-server redis-server
  redis-server --port $((node_ports - 2)) --bind 127.0.0.1 --save '' --appendonly no >"$dir/redis.log" 2>&1 &
  pids+=($!)
  wait_port $((node_ports - 2))
  export TESTBED_REDIS_URL="redis://127.0.0.1:$((node_ports - 2))"
fi

if [ -z "${TESTBED_INFLUX_URL:-}" ]; then
  need influxd /usr/bin/influxd influxdb
  mkdir -p "$dir/influxdb"
  cat >"$dir/influxdb/influxdb.conf" <<EOF
reporting-disabled = true
bind-address = "127.0.0.1:$((node_ports - 4))"
[meta]
  dir = "$dir/influxdb/meta"
[data]
  dir = "$dir/influxdb/data"
  wal-dir = "$dir/influxdb/wal"
  query-log-enabled = false
[monitor]
  store-enabled = false
[http]
  bind-address = "127.0.0.1:$((node_ports - 3))"
  log-enabled = false
EOF
  influxd -config "$dir/influxdb/influxdb.conf" >"$dir/influxdb.log" 2>&1 &
  pids+=($!)
  wait_port $((node_ports - 3))
  export TESTBED_INFLUX_URL="http://127.0.0.1:$((node_ports - 3))"
fi

if [ -z "${TESTBED_ADMIN_TOKEN:-}" ]; then
  [ -f "$dir/admin-token" ] || (umask 077 && head -c 24 /dev/urandom | base64 | tr '+/' '-_' >"$dir/admin-token")
  TESTBED_ADMIN_TOKEN=$(cat "$dir/admin-token")
  export TESTBED_ADMIN_TOKEN
fi

# Every device reaches a node from HAProxy's address, so the per-address limits count them all together.
export TESTBED_PUBLIC_MQTT_URL="mqtt://127.0.0.1:$mqtt_port" TESTBED_TRUSTED_PROXIES=127.0.0.1
export TESTBED_MQTT_MAX_CONNECTIONS_PER_IP=${TESTBED_MQTT_MAX_CONNECTIONS_PER_IP:-100000}
export TESTBED_MQTT_CONNECTS_PER_SECOND_PER_IP=${TESTBED_MQTT_CONNECTS_PER_SECOND_PER_IP:-1000}
export TESTBED_HTTP_MAX_CONNECTIONS_PER_IP=${TESTBED_HTTP_MAX_CONNECTIONS_PER_IP:-10000}
layout="[]"
for i in $(seq 1 "$nodes"); do
  m=$((node_ports + 2 * i)) h=$((node_ports + 2 * i + 1))
  TESTBED_NODE_ID="node-$i" TESTBED_DATA_DIR="$dir/node-$i" TESTBED_MQTT_PORT=$m TESTBED_HTTP_PORT=$h TESTBED_LOG_FORMAT=json \
    node dist/cli/testbed.js start >"$dir/node-$i.log" 2>&1 &
  pids+=($!)
  wait_port "$h"
  layout=$(node -e 'const l = JSON.parse(process.argv[1]); l.push({ name: process.argv[2], host: "127.0.0.1", mqttPort: +process.argv[3], httpPort: +process.argv[4] }); console.log(JSON.stringify(l))' "$layout" "node-$i" "$m" "$h")
done

# The same configuration the tests run (cli/cluster/haproxy-config.ts).
node --input-type=module -e '
  const { haproxyConfig } = await import(process.argv[1]);
  process.stdout.write(haproxyConfig({ bind: { host: "127.0.0.1", mqttPort: +process.argv[2], httpPort: +process.argv[3] }, nodes: JSON.parse(process.argv[4]) }));
' "$PWD/dist/cli/cluster/haproxy-config.js" "$mqtt_port" "$http_port" "$layout" >"$dir/haproxy.cfg"
"$haproxy" -f "$dir/haproxy.cfg" -db >"$dir/haproxy.log" 2>&1 &
pids+=($!)
wait_port "$mqtt_port"

cat <<EOF
Cluster of $nodes node(s) in $dir (logs: node-*.log, haproxy.log)
  MQTT (HAProxy):  mqtt://127.0.0.1:$mqtt_port
  API (HAProxy):   http://127.0.0.1:$http_port
  admin key:       in $dir/admin-token, or TESTBED_ADMIN_TOKEN
  registry:        ${TESTBED_DATABASE_URL:-$TESTBED_REGISTRY_FILE}
  coordination:    $TESTBED_REDIS_URL
  readings:        $TESTBED_INFLUX_URL
Ctrl-C stops it.
EOF
wait -n "${pids[@]}" || true
echo "A process of the cluster exited; see the logs in $dir." >&2
