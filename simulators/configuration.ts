import { desiredConfigMessageSchema, type ReportedConfigMessage } from '../core/index.js';

/**
 * What a simulated device runs with: the keys of the desired documents it
 * applied, and the version it applied last. Each version is applied once
 * (the gateway sends the current one again at every subscription).
 */
export class SimulatedConfiguration {
  #config: Record<string, unknown> = {};
  #version: number | undefined;

  /**
   * Applies a desired document: `reportingIntervalSeconds` sets the interval,
   * other keys are kept as they are. Returns the report to publish, or
   * undefined when the payload is not a desired document or was applied already.
   */
  apply(payload: Buffer, setIntervalMs: (ms: number) => void): ReportedConfigMessage | undefined {
    let parsed;
    try {
      parsed = desiredConfigMessageSchema.safeParse(JSON.parse(payload.toString('utf8')));
    } catch {
      return undefined;
    }
    if (!parsed.success || (this.#version !== undefined && parsed.data.version <= this.#version)) return undefined;
    const { version, config } = parsed.data;
    const seconds = config.reportingIntervalSeconds;
    if (typeof seconds === 'number' && seconds > 0) setIntervalMs(seconds * 1000);
    this.#config = { ...config };
    this.#version = version;
    return this.report();
  }

  /** The interval changed by command (set_interval): the configuration it now runs with. */
  intervalSet(seconds: number): ReportedConfigMessage {
    this.#config = { ...this.#config, reportingIntervalSeconds: seconds };
    return this.report();
  }

  report(): ReportedConfigMessage {
    return { ...(this.#version === undefined ? {} : { version: this.#version }), config: { ...this.#config } };
  }
}
