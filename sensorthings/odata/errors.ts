import { TestbedError } from '../../core/index.js';

/** A query this server does not support: 400 naming the part (OGC 18-088 9.3: a service may implement a subset). */
export const unsupported = (part: string, hint = ''): TestbedError =>
  new TestbedError('TESTBED_STA_UNSUPPORTED', `This SensorThings service does not support ${part}${hint ? `; ${hint}` : ''}`, { unsupported: part });

/** A query that does not parse: 400 saying where. */
export const badQuery = (message: string): TestbedError => new TestbedError('TESTBED_STA_BAD_QUERY', message);
