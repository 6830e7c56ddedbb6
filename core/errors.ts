/**
 * The one catalogue of error codes. HTTP responses, MQTT rejection notices,
 * rejection records and log lines all use these codes. A code is never reused
 * for another meaning; add a new one instead. `test/errors.test.ts` checks that
 * every code is documented in the README.
 */
export const ErrorCodes = {
  // Configuration and start-up
  TESTBED_CONFIG_INVALID: { status: 500, message: 'The configuration is invalid' },
  TESTBED_PROFILE_INVALID: { status: 500, message: 'A device profile is invalid' },
  TESTBED_TLS_INVALID: { status: 500, message: 'The TLS certificate or key cannot be read or does not match' },

  // Connections (MQTT and HTTP): beyond a limit in the README's Limits table
  TESTBED_CONNECTION_LIMIT: { status: 503, message: 'Too many open connections (from this address, for this device, or in all); close some and retry' },
  TESTBED_CONNECT_RATE_LIMITED: { status: 429, message: 'Too many connection attempts from this address; wait and retry' },
  TESTBED_LOGIN_THROTTLED: { status: 429, message: 'Too many failed logins from this address or for this username; wait before trying again' },
  TESTBED_WILL_NOT_ALLOWED: { status: 403, message: "A will message may only go to the device's own status topic at QoS 0 or 1" },
  TESTBED_QOS_NOT_SUPPORTED: { status: 400, message: 'The gateway takes readings at QoS 0 or 1; a QoS 2 PUBLISH closes the connection' },
  TESTBED_DISK_LOW: {
    status: 503,
    message:
      'The data folder has less free space than TESTBED_DISK_MIN_FREE_MB: nothing more is accepted until there is (CONNACK 3; a PUBLISH closes its connection unacknowledged)',
  },
  TESTBED_PORT_IN_USE: { status: 500, message: 'A port the configuration names is already in use' },
  TESTBED_DATA_DIR_LOCKED: { status: 500, message: 'Another testbed process is using the data folder' },

  // The command line's admin commands
  TESTBED_API_UNREACHABLE: { status: 503, message: 'The testbed API did not answer' },

  // HTTP API
  TESTBED_UNAUTHORIZED: { status: 401, message: 'A valid API key is required (Authorization: Bearer <key>)' },
  TESTBED_FORBIDDEN: { status: 403, message: 'This key may not do that' },
  TESTBED_NOT_FOUND: { status: 404, message: 'Not found' },
  TESTBED_BAD_REQUEST: { status: 400, message: 'The request is invalid' },
  TESTBED_CONFLICT: { status: 409, message: 'The request conflicts with the current state' },
  TESTBED_LIMIT_EXCEEDED: { status: 400, message: 'The request is beyond a query limit' },
  TESTBED_PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body is too large' },
  TESTBED_RATE_LIMITED: { status: 429, message: 'This key is making too many requests; wait as Retry-After says' },
  TESTBED_KEY_THROTTLED: { status: 429, message: 'Too many failed API keys from this address (for this key or in all); wait as Retry-After says' },
  TESTBED_KEY_IN_URL: { status: 400, message: 'An API key may not be sent in the URL; send it in the Authorization header' },
  TESTBED_KEY_LIMIT: { status: 409, message: 'Too many live keys for this company, or minted under this key; revoke some first' },
  TESTBED_STORE_UNAVAILABLE: { status: 503, message: 'The reading store is unavailable; try again shortly' },
  TESTBED_REGISTRY_UNAVAILABLE: { status: 503, message: 'The registry database is unavailable; try again shortly' },
  TESTBED_SHUTTING_DOWN: { status: 503, message: 'The server is stopping; try again shortly' },
  TESTBED_INTERNAL: { status: 500, message: 'Internal error' },
  TESTBED_WEBHOOK_URL_NOT_ALLOWED: { status: 400, message: 'The webhook URL points at an address the gateway may not reach' },

  // The end of a pilot: exports, erasure, retention
  TESTBED_EXPORT_NOT_READY: { status: 409, message: 'The export bundle is still being built (or failed); see its state' },
  TESTBED_PILOT_NOT_ENDED: { status: 409, message: 'Only an ended pilot may be erased (an admin may force it)' },
  TESTBED_ERASE_NOT_CONFIRMED: { status: 400, message: "Erasure needs { confirm: <the pilot's name> }" },
  TESTBED_ERASE_UNSUPPORTED: { status: 501, message: 'The reading store in use cannot delete readings' },

  // OGC SensorThings API (/sta/v1.1)
  TESTBED_STA_BAD_QUERY: { status: 400, message: 'The SensorThings request does not parse (resource path or query option)' },
  TESTBED_STA_UNSUPPORTED: { status: 400, message: 'The SensorThings request uses a part this read-only service does not support' },

  // Reading rejections (ingest)
  TESTBED_READING_TOO_LARGE: { status: 413, message: 'The payload is larger than the gateway accepts' },
  TESTBED_READING_NOT_JSON: { status: 400, message: 'The payload is not valid JSON' },
  TESTBED_READING_NOT_OBJECT: { status: 400, message: 'The payload is not a JSON object' },
  TESTBED_READING_UNKNOWN_PROFILE: { status: 400, message: 'The device has a profile the gateway does not know' },
  TESTBED_READING_EMPTY: { status: 400, message: 'The reading has no measurements' },
  TESTBED_READING_UNKNOWN_MEASUREMENT: { status: 400, message: 'The reading names a measurement its profile does not have' },
  TESTBED_READING_WRONG_TYPE: { status: 400, message: 'A value has the wrong type' },
  TESTBED_READING_OUT_OF_RANGE: { status: 400, message: 'A value is outside its physical range' },
  TESTBED_READING_BAD_TIME: { status: 400, message: 'The reading time is not a valid ISO 8601 string or epoch milliseconds' },
  TESTBED_READING_TIME_IN_FUTURE: { status: 400, message: 'The reading time is too far in the future' },
  TESTBED_READING_TIME_TOO_OLD: { status: 400, message: 'The reading time is older than the gateway accepts' },
  TESTBED_READING_STORE_REFUSED: { status: 400, message: 'The store refused the reading' },
  TESTBED_READING_FORMAT_NOT_ALLOWED: { status: 415, message: 'The payload is in a format the device profile does not accept' },
  TESTBED_READING_BAD_SENML: { status: 400, message: 'The payload is not a valid SenML pack (RFC 8428)' },
  TESTBED_READING_BAD_BINARY: { status: 400, message: 'The binary payload does not match the layout of the device profile' },
  TESTBED_READING_UNIT_NOT_ACCEPTED: { status: 400, message: 'A value is in a unit its measurement does not accept' },
  TESTBED_READING_DUPLICATE_MEASUREMENT: { status: 400, message: 'A message gives the same measurement twice for the same time' },

  // Command results (MQTT notices on the device's errors topic)
  TESTBED_COMMAND_UNKNOWN: { status: 404, message: 'The result names no command of this device' },
  TESTBED_COMMAND_FINISHED: { status: 409, message: 'The command already succeeded, failed or expired; the result is not recorded' },
  TESTBED_COMMAND_BAD_RESULT: { status: 400, message: 'The command result is not a JSON object { ok, result?, error? }' },
  TESTBED_CONFIG_BAD_REPORT: { status: 400, message: "The reported configuration is not { version?, config } with the profile's keys, types and ranges" },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ErrorCodes;

/** An error with a stable code from the catalogue and an optional detail for the caller. */
export class TestbedError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: unknown;

  constructor(code: ErrorCode, message?: string, details?: unknown) {
    super(message ?? ErrorCodes[code].message);
    this.name = 'TestbedError';
    this.code = code;
    this.status = ErrorCodes[code].status;
    this.details = details;
  }
}

/** True when `value` names a code in the catalogue. */
export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(ErrorCodes, value);
}
