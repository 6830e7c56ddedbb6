/**
 * Why a simulator could not do its job. These are client-side failures (the
 * broker or API refused, or could not be reached); what the server said, when
 * it said something, is kept in `serverCode` (a TESTBED_* code).
 */
export type SimulatorErrorKind =
  /** CONNACK return code 4 [MQTT-3.2.2.3]: the username or password is wrong. */
  | 'bad-credentials'
  /** CONNACK return code 5: authenticated, but not allowed (e.g. the pilot is not running). */
  | 'not-authorized'
  /** Another CONNACK refusal (return codes 1-3), or the broker closed the connection. */
  | 'refused'
  /** No TCP connection: nothing listens there, or the host is unknown. */
  | 'unreachable'
  /** No CONNACK or no HTTP response in time. */
  | 'timeout'
  /** The HTTP API answered with an error. */
  | 'api'
  /** A credentials file that cannot be used. */
  | 'bad-input'
  /** Stopped by its AbortSignal. */
  | 'aborted';

/** A failure of a simulator, with the kind of failure for callers that react to it. */
export class SimulatorError extends Error {
  readonly kind: SimulatorErrorKind;
  /** The server's error code, when it gave one. */
  readonly serverCode: string | undefined;

  constructor(kind: SimulatorErrorKind, message: string, options: { serverCode?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'SimulatorError';
    this.kind = kind;
    this.serverCode = options.serverCode;
  }
}
