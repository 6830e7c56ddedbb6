#!/usr/bin/env node
import { loadConfig, TestbedError, createLogger } from '../core/index.js';
import { demoCommand } from './demo.js';
import { startPipeline } from './pipeline.js';
import { untilSignal } from './signals.js';
import { simulateCommand } from './simulate.js';

const USAGE = `Usage: testbed <command> [options]

Commands:
  start      run the gateway, ingest and API (configured by TESTBED_* variables)
  demo       start the pipeline with a demo company, pilot and simulated devices
  simulate   run virtual devices against a gateway (testbed simulate --help)
  help       show this help
`;

/** `testbed start`: runs the pipeline until SIGINT or SIGTERM. */
async function startCommand(): Promise<number> {
  const config = loadConfig(process.env);
  const log = createLogger(config.logLevel);
  const pipeline = await startPipeline(config, log);
  if (pipeline.admin.generated) {
    process.stderr.write(`\nGenerated an admin key (shown once; kept in ${pipeline.admin.file}):\n  ${pipeline.admin.token}\n\n`);
  }
  await untilSignal();
  log.info('stopping');
  await pipeline.stop();
  log.flush();
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start':
      return startCommand();
    case 'demo':
      return demoCommand(rest);
    case 'simulate':
      return simulateCommand(rest, { stdout: process.stdout, stderr: process.stderr, env: process.env });
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return 0;
    default:
      process.stderr.write(`Unknown command: ${command}\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof TestbedError) process.stderr.write(`${err.code}: ${err.message}\n`);
    else process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
