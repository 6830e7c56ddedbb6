import type { SimulationSnapshot, SimulationSummary } from './run.js';

/**
 * The only place in simulators/ that prints: progress lines and the final
 * summary, written to the streams it is given.
 */
export interface ProgressReporter {
  /** Feed it every snapshot; it decides what to show. */
  progress(snapshot: SimulationSnapshot): void;
  /** Ends the progress line, then writes the summary. */
  summary(summary: SimulationSummary, out: NodeJS.WritableStream): void;
}

export interface ReporterOptions {
  /** Rewrite one line with `\r` (a terminal) rather than append lines (a log). Default: the stream's isTTY. */
  readonly tty?: boolean;
  /** Without a TTY, at most one line this often (default 5 s). */
  readonly everyMs?: number;
}

/** A reporter writing progress to `stream`: one rewritten line on a terminal, a line every `everyMs` otherwise. */
export function createProgressReporter(stream: NodeJS.WritableStream & { isTTY?: boolean }, options: ReporterOptions = {}): ProgressReporter {
  const tty = options.tty ?? stream.isTTY === true;
  const everyMs = options.everyMs ?? 5_000;
  let lastLineAt = -Infinity;
  let lineOpen = false;
  return {
    progress(s) {
      if (tty) {
        stream.write(`\r${progressLine(s)}\x1b[K`); // ESC [ K: erase what is left of a longer previous line
        lineOpen = true;
      } else if (s.elapsedMs - lastLineAt >= everyMs) {
        stream.write(`${progressLine(s)}\n`);
        lastLineAt = s.elapsedMs;
      }
    },
    summary(summary, out) {
      if (lineOpen) stream.write('\n');
      lineOpen = false;
      out.write(formatSummary(summary));
    },
  };
}

/** One line of counters, e.g. `4.0 s  3/3 connected  sent 12 (3/s)  ...`. */
export function progressLine(s: SimulationSnapshot): string {
  const parts = [
    `${seconds(s.elapsedMs)}`,
    `${s.connected}/${s.devices} connected`,
    `sent ${s.sent} (${s.ratePerSecond}/s)`,
    `acked ${s.acknowledged}`,
    `rejected ${sum(s.rejected)}`,
    `errors ${s.errors}`,
  ];
  return parts.join('  ');
}

/** The end-of-run summary, several lines. */
export function formatSummary(s: SimulationSummary): string {
  const lines = [
    `Simulation ${s.stopped === 'aborted' ? 'stopped' : 'finished'} after ${seconds(s.elapsedMs)}: ${s.devices} device${s.devices === 1 ? '' : 's'}, QoS ${s.qos}, seed ${s.seed}`,
    `  sent          ${s.sent} (${s.ratePerSecond} readings/s)`,
    `  acknowledged  ${s.qos === 1 ? s.acknowledged : `- (QoS 0 has no acknowledgements)`}`,
    `  rejected      ${sum(s.rejected)}`,
    ...Object.entries(s.rejected)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([code, n]) => `    ${code}  ${n}`),
    `  errors        ${s.errors}`,
  ];
  const faults = Object.entries(s.faults).sort(([a], [b]) => a.localeCompare(b));
  if (faults.length > 0 || s.missed > 0) {
    lines.push(`  faults        ${faults.map(([kind, n]) => `${kind} ${n}`).join(', ') || 'none'}`);
    lines.push(`  missed        ${s.missed} (readings not sent: gaps, time offline)`);
    lines.push(`  expected      ${sum(s.expectedRejections)} rejections`);
    for (const [code, n] of Object.entries(s.expectedRejections).sort(([a], [b]) => a.localeCompare(b))) {
      lines.push(`    ${code}  ${n}${(s.rejected[code] ?? 0) === n ? '' : `  (rejected: ${s.rejected[code] ?? 0})`}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

function sum(counts: Readonly<Partial<Record<string, number>>>): number {
  return Object.values(counts).reduce<number>((a, b) => a + (b ?? 0), 0);
}

function seconds(ms: number): string {
  return `${(ms / 1_000).toFixed(1)} s`;
}
