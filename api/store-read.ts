import { TestbedError } from '../core/index.js';

/**
 * Runs a store read. A failure that is not already a TestbedError means the
 * store could not answer (closed, unreachable, timing out): the caller gets 503
 * and may retry; the cause is kept for the log.
 */
export async function readStore<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (err instanceof TestbedError) throw err;
    const unavailable = new TestbedError('TESTBED_STORE_UNAVAILABLE');
    unavailable.cause = err;
    throw unavailable;
  }
}
