#!/usr/bin/env bash
# The test command: installs everything the tests need (InfluxDB 1.x, the
# Mosquitto command-line clients, Eclipse Paho for Python, Chromium, Prometheus, HAProxy, Redis and PostgreSQL from Debian's packages, the npm dependencies),
# builds, type-checks the whole project, checks lint, format and the import
# rules between folders (.dependency-cruiser.cjs), and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v influxd >/dev/null 2>&1 || need+=(influxdb)
command -v mosquitto_pub >/dev/null 2>&1 || need+=(mosquitto-clients)
# The console's tests drive Debian's Chromium with playwright-core (its own browser download cannot work here).
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# A real Prometheus server scrapes /metrics in test/metrics-prometheus.test.ts.
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
# The cluster tests run several nodes behind HAProxy on one Redis (test/cluster*.test.ts), both Debian's, started on free ports.
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || need+=(haproxy)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
# The registry suites and the cluster run on PostgreSQL too; each test file starts its own server with initdb.
pg_missing=1
for initdb in /usr/lib/postgresql/*/bin/initdb; do [ -x "$initdb" ] && pg_missing=0; done
if [ "$pg_missing" -eq 1 ]; then
  need+=(postgresql)
  # The tests start their own servers: the package's default cluster (a server on port 5432) is not wanted.
  if [ ! -e /etc/postgresql-common/createcluster.conf ] && [ "$(id -u)" -eq 0 ]; then
    mkdir -p /etc/postgresql-common
    echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.conf
  fi
fi
# Eclipse Paho (Python), a third stock MQTT client, in test/transport.test.ts; Debian's own interpreter runs it.
/usr/bin/python3 -c 'import paho.mqtt' >/dev/null 2>&1 || need+=(python3-paho-mqtt)
if [ ${#need[@]} -gt 0 ]; then
  echo "Installing ${need[*]} from Debian's packages..." >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  # --no-install-recommends keeps the install small; the tests start their own influxd.
  $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

bash scripts/deps.sh
npm run build --silent
npx tsc --noEmit
npx tsc -p console/tsconfig.json --noEmit
echo "Lint, format and import rules..." >&2
npm run lint --silent
npx vitest run "$@"
