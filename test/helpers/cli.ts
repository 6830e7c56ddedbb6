import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../dist/cli/testbed.js', import.meta.url));

/** A running `testbed` command (the built one: npm run build first; npm test does). */
export interface Child {
  /** stdout and stderr as printed, interleaved. */
  output(): string;
  stdout(): string;
  stderr(): string;
  readonly exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): void;
}

export function testbed(args: string[], env: Record<string, string> = {}): Child {
  if (!fs.existsSync(BIN)) throw new Error(`${BIN} is missing: run npm run build (npm test does)`);
  const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    out += d.toString();
    stderr += d.toString();
  });
  return {
    output: () => out,
    stdout: () => stdout,
    stderr: () => stderr,
    exited: new Promise((resolve) => child.once('close', (code) => resolve(code))),
    kill: (signal) => child.kill(signal),
  };
}

/** Runs a command that ends by itself; resolves with its exit status and what it printed. */
export async function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = testbed(args, env);
  const code = await child.exited;
  return { code, stdout: child.stdout(), stderr: child.stderr() };
}

/** Waits until the command has printed something matching `pattern`. */
export async function waitFor(child: Child, pattern: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = child.output().match(pattern);
    if (match) return match;
    if (Date.now() > deadline) throw new Error(`no ${pattern} in output:\n${child.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
