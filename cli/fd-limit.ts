import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import type { Config, Logger } from '../core/index.js';

/** Descriptors kept back for files, the stores, the registry and the process itself. */
const RESERVED_FDS = 256;

export interface FdLimit {
  readonly soft: number;
  readonly hard: number;
}

/** The process's open-file limits, from /proc (Linux); undefined elsewhere. */
export function readFdLimit(): FdLimit | undefined {
  try {
    const line = fs
      .readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const [soft, hard] = (line?.match(/(\d+|unlimited)\s+(\d+|unlimited)/)?.slice(1) ?? []).map((v) => (v === 'unlimited' ? Infinity : Number(v)));
    return soft === undefined || hard === undefined ? undefined : { soft, hard };
  } catch {
    return undefined;
  }
}

/**
 * Raises the soft open-file limit to the hard one, where it can. Node itself
 * does so as it starts on Linux and macOS; this checks, and where the soft
 * limit is still lower (an embedding, another runtime) asks util-linux's
 * `prlimit` to raise it for this process (Node has no setrlimit; any process
 * may raise its own soft limit up to its hard one). Without it the limit
 * stays, and the log says so.
 */
export function raiseFdLimit(): { before: FdLimit | undefined; after: FdLimit | undefined } {
  const before = readFdLimit();
  if (!before || before.soft >= before.hard || !Number.isFinite(before.hard)) return { before, after: before };
  try {
    execFileSync('prlimit', ['--pid', String(process.pid), `--nofile=${before.hard}:${before.hard}`], { stdio: 'ignore', timeout: 5000 });
  } catch {
    // No prlimit, or not allowed: the limit stays as it was.
  }
  return { before, after: readFdLimit() };
}

/**
 * Raises the limit and says at start how many connections the process can
 * hold; warns when the configured connection caps add up to more.
 */
export function reportCapacity(config: Config, log: Logger): void {
  const { before, after } = raiseFdLimit();
  if (!after) {
    log.info('open-file limit unknown on this system; the connection caps in the configuration apply');
    return;
  }
  const capacity = Math.max(0, after.soft - RESERVED_FDS);
  const caps = config.limits.mqtt.maxConnections + config.limits.http.maxConnections;
  const fields = { softLimit: after.soft, hardLimit: after.hard, raisedFrom: before && before.soft !== after.soft ? before.soft : undefined, capacity, caps };
  if (caps > capacity) {
    log.warn(
      fields,
      `open files allow about ${capacity} connections, fewer than TESTBED_MQTT_MAX_CONNECTIONS + TESTBED_HTTP_MAX_CONNECTIONS (${caps}); raise the limit (ulimit -n) or lower the caps`,
    );
  } else log.info(fields, `open files allow about ${capacity} connections (MQTT and HTTP together)`);
}
