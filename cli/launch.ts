import type { Config, Logger } from '../core/index.js';
import { lockDataDir } from './data-lock.js';
import { startPipeline, type RunningPipeline } from './pipeline.js';
import { portInUse } from './port-in-use.js';

/**
 * Starts the pipeline as a command does: the data folder is locked first (before
 * the queue or the registry is opened) and released on stop, and a port in use
 * becomes one TESTBED_PORT_IN_USE error.
 */
export async function launchPipeline(config: Config, log: Logger): Promise<RunningPipeline> {
  const lock = lockDataDir(config.dataDir);
  let pipeline: RunningPipeline;
  try {
    pipeline = await startPipeline(config, log);
  } catch (err) {
    lock.release();
    throw portInUse(err, config) ?? err;
  }
  return {
    ...pipeline,
    async stop() {
      try {
        await pipeline.stop();
      } finally {
        lock.release();
      }
    },
  };
}
