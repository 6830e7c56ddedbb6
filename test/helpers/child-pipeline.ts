import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

const START_TIMEOUT_MS = 20_000;
const BIN = fileURLToPath(new URL('../../dist/cli/testbed.js', import.meta.url));

/**
 * `testbed start` as a child process (the built command), so a test can SIGKILL it.
 * It logs at info (the start is recognised by its "pipeline started" line).
 */
export interface ChildPipeline {
  /** Everything it has printed. */
  output(): string;
  /** Starts it (again); resolves once it reports that it has started. */
  start(): Promise<void>;
  /** Sends `signal` and waits for the exit; resolves with the exit code (null when killed). */
  kill(signal: NodeJS.Signals): Promise<number | null>;
}

export function childPipeline(env: Record<string, string>): ChildPipeline {
  if (!fs.existsSync(BIN)) throw new Error(`${BIN} is missing: run npm run build (npm test does)`);
  let child: ChildProcess | undefined;
  let out = '';
  return {
    output: () => out,
    async start() {
      const from = out.length;
      child = spawn(process.execPath, [BIN, 'start'], {
        env: { PATH: process.env.PATH ?? '', ...env, TESTBED_LOG_LEVEL: 'info' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const append = (d: Buffer) => {
        out += d.toString();
      };
      child.stdout!.on('data', append);
      child.stderr!.on('data', append);
      const started = child;
      const deadline = Date.now() + START_TIMEOUT_MS;
      await new Promise<void>((resolve, reject) => {
        const timer = setInterval(() => {
          if (out.indexOf('pipeline started', from) >= 0) {
            clearInterval(timer);
            resolve();
          } else if (Date.now() > deadline) {
            clearInterval(timer);
            reject(new Error(`testbed start did not report "pipeline started" within ${START_TIMEOUT_MS} ms:\n${out.slice(from)}`));
          }
        }, 20);
        started.once('exit', (code) => {
          clearInterval(timer);
          reject(new Error(`testbed start exited with ${code}:\n${out.slice(from)}`));
        });
      });
    },
    async kill(signal) {
      const running = child;
      if (!running || running.exitCode !== null || running.signalCode !== null) return running?.exitCode ?? null;
      const exited = new Promise<number | null>((resolve) => running.once('exit', (code) => resolve(code)));
      running.kill(signal);
      return exited;
    },
  };
}
