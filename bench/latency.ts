/**
 * Publish → stored latency at fixed offered rates: QoS 1 readings from many
 * devices at a steady rate, each observed as stored on the pilot's live stream
 * (SSE), which carries a reading once the store has it. Latency is the time the
 * stream delivers a reading minus the time it was published; the PUBACK
 * latency (on disk in the journal) is printed beside it. Embedded store,
 * `testbed start` in its own process.
 *
 *   npm run bench:latency -- [--rates 5000,20000] [--seconds 10] [--devices 100] [--runs 3]
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import mqtt, { type MqttClient } from 'mqtt';
import { ADMIN, benchPilot, cpuMs, machine, median, quantile, registerDevices, startPipeline, type Device } from './harness.js';

const { values: args } = parseArgs({
  options: {
    rates: { type: 'string', default: '5000,20000' },
    seconds: { type: 'string', default: '10' },
    devices: { type: 'string', default: '100' },
    runs: { type: 'string', default: '3' },
  },
});
const RATES = args.rates.split(',').map(Number);
const SECONDS = Number(args.seconds);
const DEVICES = Number(args.devices);
const RUNS = Number(args.runs);
/** How long to wait for the last readings of a run to show on the stream. */
const SETTLE_MS = 10_000;
/** Sending ticks: at each, every reading due by now is published. */
const TICK_MS = 2;

/** Wall-clock time in fractional ms, so that latencies below a millisecond are not rounded away. */
const now = () => performance.timeOrigin + performance.now();

/** The pilot's live stream: calls `onReading` with each reading's device and time, `onDropped` with each drop count. */
async function openLive(api: string, pilotId: string, onReading: (deviceId: string, time: number) => void, onDropped: (n: number) => void) {
  const abort = new AbortController();
  const res = await fetch(`${api}/v1/pilots/${pilotId}/live`, { headers: { authorization: `Bearer ${ADMIN}` }, signal: abort.signal });
  if (!res.ok || !res.body) throw new Error(`live stream: ${res.status}`);
  const decoder = new TextDecoder();
  let buffered = '';
  const reading = (async () => {
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffered += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffered.indexOf('\n\n')) >= 0) {
          const block = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          if (block.startsWith('data: ')) {
            const r = JSON.parse(block.slice(6)) as { deviceId: string; time: string };
            onReading(r.deviceId, Date.parse(r.time));
          } else if (block.startsWith('event: dropped\n')) {
            onDropped((JSON.parse(block.slice(block.indexOf('data: ') + 6)) as { dropped: number }).dropped);
          }
        }
      }
    } catch (err) {
      if (!abort.signal.aborted) throw err;
    }
  })();
  return {
    close: async () => {
      abort.abort();
      await reading;
    },
  };
}

interface RunResult {
  offered: number;
  achieved: number;
  sent: number;
  acked: number;
  observed: number;
  dropped: number;
  stored: number[];
  ack: number[];
  /** p99 of this process's event-loop delay, ms: when it is large, the load generator, not the gateway, is late. */
  loopP99: number;
  /** The gateway's CPU time over the run, as a share of one core. */
  gatewayCpu: number;
}

/** One run at one rate: readings due by each tick are published round-robin over the devices. */
async function run(pid: number, clients: MqttClient[], devices: Device[], rate: number, live: { sent: Map<string, number>; seen: number[]; dropped: number }) {
  const lastTime = new Map<string, number>();
  const ack: number[] = [];
  live.sent.clear();
  live.seen.length = 0;
  live.dropped = 0;
  let sent = 0;
  let acked = 0;
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  let next = 0;
  const total = Math.round(rate * SECONDS);
  const started = now();
  const cpuBefore = cpuMs(pid);
  while (sent < total) {
    const due = Math.min(total, Math.floor(((now() - started) / 1000) * rate));
    for (; sent < due; sent++) {
      const i = next++ % clients.length;
      const device = devices[i]!;
      const at = now();
      // A reading's time is its send time; two in one millisecond from one device would be duplicates, so the later moves on a millisecond.
      const time = Math.max(Math.floor(at), (lastTime.get(device.deviceId) ?? 0) + 1);
      lastTime.set(device.deviceId, time);
      live.sent.set(`${device.deviceId}|${time}`, at);
      const payload = JSON.stringify({ pm25: 5 + (sent % 50) / 10, pm10: 9 + (sent % 70) / 10, time });
      clients[i]!.publish(`devices/${device.deviceId}/readings`, payload, { qos: 1 }, (err) => {
        if (err) throw err;
        acked++;
        ack.push(now() - at);
      });
    }
    await sleep(TICK_MS);
  }
  const sendMs = now() - started;
  const deadline = Date.now() + SETTLE_MS;
  while ((acked < total || live.seen.length + live.dropped < total) && Date.now() < deadline) await sleep(20);
  loop.disable();
  const gatewayCpu = (cpuMs(pid) - cpuBefore) / (now() - started);
  return {
    offered: rate,
    achieved: Math.round(total / (sendMs / 1000)),
    sent: total,
    acked,
    observed: live.seen.length,
    dropped: live.dropped,
    stored: [...live.seen].sort((a, b) => a - b),
    ack: ack.sort((a, b) => a - b),
    loopP99: loop.percentile(99) / 1e6,
    gatewayCpu,
  } satisfies RunResult;
}

const ms = (x: number) => (Number.isNaN(x) ? '-' : x < 10 ? x.toFixed(2) : x.toFixed(0));
const line = (name: string, xs: number[]) =>
  `${name} p50 ${ms(quantile(xs, 0.5))} ms, p90 ${ms(quantile(xs, 0.9))} ms, p99 ${ms(quantile(xs, 0.99))} ms, max ${ms(xs.at(-1) ?? Number.NaN)} ms`;

const pipeline = await startPipeline();
try {
  const pilotId = await benchPilot(pipeline.api);
  const devices = await registerDevices(pipeline.api, pilotId, DEVICES);
  const clients = await Promise.all(
    devices.map((d) => mqtt.connectAsync(pipeline.mqtt, { username: d.username, password: d.password, protocolVersion: 4, reconnectPeriod: 0 })),
  );
  const state = { sent: new Map<string, number>(), seen: [] as number[], dropped: 0 };
  const stream = await openLive(
    pipeline.api,
    pilotId,
    (deviceId, time) => {
      const at = state.sent.get(`${deviceId}|${time}`);
      if (at !== undefined) state.seen.push(now() - at);
    },
    (n) => (state.dropped += n),
  );
  process.stdout.write(`machine: ${machine()}\n${DEVICES} devices, QoS 1, ${SECONDS} s per run, ${RUNS} runs per rate, embedded store\n`);
  const summary: string[] = [];
  for (const rate of RATES) {
    const results: RunResult[] = [];
    for (let r = 1; r <= RUNS; r++) {
      const res = await run(pipeline.pid, clients, devices, rate, state);
      results.push(res);
      const missed = res.sent - res.observed;
      process.stdout.write(
        `rate ${rate}/s run ${r}: achieved ${res.achieved}/s, ${res.acked}/${res.sent} acknowledged, ${res.observed} observed stored` +
          (missed > 0 ? ` (${missed} not observed, ${res.dropped} of them dropped by the live stream)` : '') +
          `\n  ${line('stored', res.stored)}\n  ${line('PUBACK', res.ack)}\n  gateway CPU ${(res.gatewayCpu * 100).toFixed(0)}% of a core; load generator's event-loop delay p99 ${ms(res.loopP99)} ms\n`,
      );
    }
    const m = (f: (x: RunResult) => number) => ms(median(results.map(f)));
    summary.push(
      `  offered ${rate}/s: achieved ${m((x) => x.achieved)}/s; stored p50 ${m((x) => quantile(x.stored, 0.5))} ms, p90 ${m((x) => quantile(x.stored, 0.9))} ms, ` +
        `p99 ${m((x) => quantile(x.stored, 0.99))} ms, max ${m((x) => x.stored.at(-1) ?? Number.NaN)} ms; PUBACK p50 ${m((x) => quantile(x.ack, 0.5))} ms, p99 ${m((x) => quantile(x.ack, 0.99))} ms; ` +
        `observed ${(median(results.map((x) => x.observed / x.sent)) * 100).toFixed(1)}%`,
    );
  }
  process.stdout.write(`\nmedians of ${RUNS} runs (publish -> stored on the live stream):\n${summary.join('\n')}\n`);
  await stream.close();
  await Promise.all(clients.map((c) => c.endAsync()));
} finally {
  await pipeline.stop();
}
