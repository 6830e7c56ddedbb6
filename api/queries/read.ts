import { TestbedError } from '../../core/index.js';
import { QueryTimeExceeded } from '../../store/index.js';
import type { ApiLimits } from '../limits.js';
import { readStore } from '../store-read.js';

/**
 * Runs a store query with the longest query time as its deadline. A query
 * stopped there is the caller's question being too big (400, saying what to
 * ask instead); any other failure is the store's (503).
 */
export async function timedRead<T>(limits: ApiLimits, run: (deadline: number) => Promise<T>): Promise<T> {
  return readStore(async () => {
    try {
      return await run(Date.now() + limits.maxQueryMs);
    } catch (err) {
      if (!(err instanceof QueryTimeExceeded)) throw err;
      throw new TestbedError(
        'TESTBED_LIMIT_EXCEEDED',
        `The query ran past the longest query time (${limits.maxQueryMs / 1000} s) and was stopped: ask for a shorter range, fewer ` +
          'measurements or a larger every, or export it with format=csv or format=ndjson, which reads the store a piece at a time',
        { limit: 'maxQueryMs', value: limits.maxQueryMs },
      );
    }
  });
}
