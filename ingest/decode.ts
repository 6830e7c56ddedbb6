import type { ErrorCode } from '../core/errors.js';

export type Decoded =
  | { readonly ok: true; readonly payload: Record<string, unknown> }
  | { readonly ok: false; readonly code: ErrorCode; readonly reason: string };

/** Decodes a flat JSON reading: the payload must be one JSON object. */
export function decodeJson(bytes: Buffer): Decoded {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    return { ok: false, code: 'TESTBED_READING_NOT_JSON', reason: `not valid JSON: ${(err as Error).message}` };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const what = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
    return { ok: false, code: 'TESTBED_READING_NOT_OBJECT', reason: `a reading is a JSON object of measurements, not ${what}` };
  }
  return { ok: true, payload: value as Record<string, unknown> };
}
