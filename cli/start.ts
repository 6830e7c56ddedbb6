import { loadConfig } from '../core/index.js';
import { reportCapacity } from './fd-limit.js';
import { followLoad, sizeHeapForConnections } from './heap.js';
import { launchPipeline } from './launch.js';
import { stdoutLogger } from './logger.js';
import { untilSignal } from './signals.js';

/** `testbed start`: runs the pipeline until SIGINT or SIGTERM. */
export async function startCommand(): Promise<number> {
  sizeHeapForConnections();
  const config = loadConfig(process.env);
  const log = stdoutLogger(config);
  reportCapacity(config, log);
  const pipeline = await launchPipeline(config, log);
  if (pipeline.admin.generated) {
    process.stderr.write(`\nGenerated an admin key (shown once; kept in ${pipeline.admin.file}):\n  ${pipeline.admin.token}\n\n`);
  }
  const unfollow = followLoad(() => pipeline.ingest.stats().readings);
  await untilSignal();
  unfollow();
  log.info('stopping');
  await pipeline.stop();
  log.flush();
  return 0;
}
