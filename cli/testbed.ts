#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { TestbedError } from '../core/index.js';
import { RESOURCES, resourceUsage, runResource } from './admin/index.js';
import { DEMO_USAGE, START_USAGE, USAGE } from './usage.js';
import { packageVersion } from './version.js';

// The server commands are imported when run, so that help, --version and the admin commands start quickly.
const io = { stdout: process.stdout, stderr: process.stderr, env: process.env };

/** A server command: no options but --help; its help, or its run. */
function serverCommand(name: string, usage: string, argv: string[], run: () => Promise<number>): Promise<number> | number {
  let help: boolean | undefined;
  try {
    ({ help } = parseArgs({ args: argv, options: { help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false }).values);
  } catch (err) {
    process.stderr.write(`testbed ${name}: ${(err as Error).message}\nRun testbed ${name} --help; the configuration is read from TESTBED_* variables.\n`);
    return 2;
  }
  if (help) {
    process.stdout.write(usage);
    return 0;
  }
  return run();
}

function helpFor(command: string | undefined): string | undefined {
  if (command === undefined) return USAGE;
  if (command === 'start') return START_USAGE;
  if (command === 'demo') return DEMO_USAGE;
  const resource = Object.hasOwn(RESOURCES, command) ? RESOURCES[command] : undefined;
  return resource && resourceUsage(resource);
}

async function main(argv: string[]): Promise<number> {
  // Options before the command are the command line's own (--version, --help).
  const at = argv.findIndex((a) => !a.startsWith('-'));
  const [command, ...rest] = at < 0 ? [] : argv.slice(at);
  let global;
  try {
    global = parseArgs({
      args: at < 0 ? argv : argv.slice(0, at),
      options: { version: { type: 'boolean', short: 'V' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }).values;
  } catch (err) {
    process.stderr.write(`testbed: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (global.version) {
    process.stdout.write(`testbed ${packageVersion()}\n`);
    return 0;
  }
  if (global.help || command === undefined) {
    process.stdout.write(USAGE);
    return 0;
  }
  switch (command) {
    case 'start':
      return serverCommand('start', START_USAGE, rest, async () => (await import('./start.js')).startCommand());
    case 'demo':
      return serverCommand('demo', DEMO_USAGE, rest, async () => (await import('./demo.js')).demoCommand());
    case 'simulate':
      return (await import('./simulate.js')).simulateCommand(rest, io);
    case 'help': {
      if (rest[0] === 'simulate') return (await import('./simulate.js')).simulateCommand(['--help'], io);
      const text = helpFor(rest[0]);
      if (text === undefined) break;
      process.stdout.write(text);
      return 0;
    }
    default:
      if (Object.hasOwn(RESOURCES, command)) return runResource(RESOURCES[command]!, rest, io);
  }
  process.stderr.write(`testbed: unknown command ${JSON.stringify(command === 'help' ? rest[0] : command)}\n\n${USAGE}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof TestbedError) process.stderr.write(`${err.code}: ${err.message}\n`);
    else process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    // A command that failed to start must not linger on whatever it had opened: exit once the log is written.
    process.exitCode = 1;
    setTimeout(() => process.exit(1), 100).unref();
  },
);
