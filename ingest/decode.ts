import type { CompiledProfile, PayloadFormat, Problem } from '../device-profiles/index.js';

/**
 * Tells a payload's format from its first byte, within the formats its
 * device's profile accepts. MQTT 3.1.1 carries no content type, so:
 *
 * - `{` (after JSON whitespace, RFC 8259 section 2): flat JSON;
 * - `[`: a SenML pack (RFC 8428 section 5: a SenML JSON pack is an array);
 * - anything else: binary, when the profile has a layout.
 *
 * A profile that takes binary and JSON or SenML has a layout header whose first
 * byte is none of these (checked at load), so a binary payload is never taken
 * for JSON. A profile that takes only binary reads every payload as binary.
 */
export function sniffFormat(payload: Buffer, profile: CompiledProfile): PayloadFormat | Problem {
  const { accepts } = profile;
  if (accepts.binary && !accepts.json && !accepts.senml) return 'binary';
  const first = firstNonWhitespace(payload);
  if (first === 0x7b) {
    if (accepts.json) return 'json';
    return { code: 'TESTBED_READING_FORMAT_NOT_ALLOWED', reason: `the payload is a JSON object; profile ${profile.profile.id} accepts ${profile.formatList}` };
  }
  if (first === 0x5b) {
    if (accepts.senml) return 'senml';
    // Without SenML an array is JSON that is not an object, as it always was.
    return {
      code: 'TESTBED_READING_NOT_OBJECT',
      reason: `a reading is a JSON object of measurements, not an array (profile ${profile.profile.id} does not accept SenML packs)`,
    };
  }
  if (accepts.binary) return 'binary';
  return 'json'; // not JSON: parsing says so with the parser's own words
}

function firstNonWhitespace(payload: Buffer): number | undefined {
  for (let i = 0; i < payload.length; i++) {
    const b = payload[i]!;
    if (b !== 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) return b;
  }
  return undefined;
}

/** Parses JSON text, or says why it is not JSON. */
export function parseJson(payload: Buffer): { readonly value: unknown } | Problem {
  try {
    return { value: JSON.parse(payload.toString('utf8')) as unknown };
  } catch (err) {
    return { code: 'TESTBED_READING_NOT_JSON', reason: `not valid JSON: ${(err as Error).message}` };
  }
}

/** What a decoder made of a message: readings (each with its own time, if it had one) and the records it could not use. */
export interface Decoded {
  readonly readings: readonly DecodedReading[];
  readonly problems: readonly Problem[];
}

export interface DecodedReading {
  /** Epoch ms of the reading's own time; undefined when it has none and is stamped on receipt. */
  readonly time: number | undefined;
  /** A relative or raw time the device gave, for the reason when the time is outside the window. */
  readonly timeHint?: string | undefined;
  readonly values: Record<string, number>;
  /** Measurements outside their plausible range. */
  readonly suspect: string[] | undefined;
}
