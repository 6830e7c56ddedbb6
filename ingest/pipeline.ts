import { isUtf8 } from 'node:buffer';
import type { ErrorCode, DeviceContext } from '../core/index.js';
import type { Reading, Rejection } from '../store/index.js';
import type { CompiledProfile, ProfileCatalogue, Problem } from '../device-profiles/index.js';
import { parseJson, sniffFormat, type Decoded } from './decode.js';
import { decodeBinary } from './decode-binary.js';
import { decodeFlat } from './decode-json.js';
import { decodeSenml } from './decode-senml.js';
import { ReceiptClock, timeInWindow, type TimePolicy } from './normalise.js';
import { QualityTracker } from './quality.js';

/** The raw payload kept with a rejection is capped at this many bytes. */
export const REJECTION_PAYLOAD_CAP = 4096;

/**
 * What one message became: the readings to store and the rejections to record.
 * A message may carry several readings (a SenML pack, a backlog), so either
 * list may hold more than one; a message that fails as a whole is one rejection.
 */
export interface MessageOutcome {
  readonly readings: readonly Reading[];
  readonly rejections: readonly Rejection[];
}

const NONE: readonly never[] = Object.freeze([]);

export interface PipelineOptions extends TimePolicy {
  readonly maxPayloadBytes: number;
}

type Where = Pick<DeviceContext, 'deviceId' | 'pilotId' | 'companyId' | 'testbedId'>;
type KeptPayload = Pick<Rejection, 'payload' | 'payloadEncoding' | 'payloadBytes'>;

function keep(payload: Buffer): KeptPayload {
  const kept = payload.length > REJECTION_PAYLOAD_CAP ? payload.subarray(0, REJECTION_PAYLOAD_CAP) : payload;
  // A cut may split a UTF-8 sequence, so test the kept bytes, not the whole payload.
  const text = isUtf8(kept);
  return { payload: kept.toString(text ? 'utf8' : 'base64'), payloadEncoding: text ? 'utf8' : 'base64', payloadBytes: payload.length };
}

function rejectionWith(ctx: Where, kept: KeptPayload, time: number, code: ErrorCode, reason: string): Rejection {
  return { deviceId: ctx.deviceId, pilotId: ctx.pilotId, companyId: ctx.companyId, testbedId: ctx.testbedId, time, code, reason, ...kept };
}

/** Builds the rejection record of a message that failed a step. */
export function rejectionOf(ctx: Where, payload: Buffer, time: number, code: ErrorCode, reason: string): Rejection {
  return rejectionWith(ctx, keep(payload), time, code, reason);
}

/** The outcome of a message that failed as a whole: one rejection. */
function rejected(ctx: Where, payload: Buffer, time: number, code: ErrorCode, reason: string): MessageOutcome {
  return { readings: NONE, rejections: [rejectionOf(ctx, payload, time, code, reason)] };
}

/** The format's decoder: payload bytes -> readings with their own times, or the problem. */
function decode(profile: CompiledProfile, payload: Buffer, receivedAt: number): Decoded | Problem {
  const format = sniffFormat(payload, profile);
  if (typeof format !== 'string') return format;
  if (format === 'binary') return decodeBinary(profile.binary!, payload);
  const parsed = parseJson(payload);
  if (!('value' in parsed)) return parsed;
  return format === 'senml' ? decodeSenml(profile, parsed.value, receivedAt) : decodeFlat(profile, parsed.value);
}

/**
 * The ingest pipeline of one message, as named steps:
 * size -> resolve profile -> decode (JSON, SenML or binary; values checked and
 * converted to canonical units, plausibility flagged) -> normalise time ->
 * quality flags that need the device's history (`stuck`, `gap`).
 * Every failure is an outcome (a rejection with a code), never a throw.
 * `lastReadingAt` gives the time of a device's newest stored reading, so the
 * first reading after a restart can still be judged a gap.
 */
export function createPipeline(profiles: ProfileCatalogue, options: PipelineOptions, lastReadingAt?: (deviceId: string) => number | undefined) {
  const clock = new ReceiptClock();
  const quality = new QualityTracker(profiles, lastReadingAt);

  // No closures or arrays for a message that has no rejection: this runs for every reading.
  function run(ctx: DeviceContext, payload: Buffer, receivedAt: number): MessageOutcome {
    if (payload.length > options.maxPayloadBytes) {
      return rejected(
        ctx,
        payload,
        receivedAt,
        'TESTBED_READING_TOO_LARGE',
        `the payload is ${payload.length} bytes; the gateway accepts at most ${options.maxPayloadBytes}`,
      );
    }
    const profile = profiles.get(ctx.profile);
    if (!profile)
      return rejected(ctx, payload, receivedAt, 'TESTBED_READING_UNKNOWN_PROFILE', `the device's profile ${ctx.profile} is not loaded on this gateway`);

    const decoded = decode(profile, payload, receivedAt);
    if ('code' in decoded) return rejected(ctx, payload, receivedAt, decoded.code, decoded.reason);

    const readings: Reading[] = [];
    let rejections: Rejection[] | undefined;
    let kept: KeptPayload | undefined;
    for (const p of decoded.problems) (rejections ??= []).push(rejectionWith(ctx, (kept ??= keep(payload)), receivedAt, p.code, p.reason));
    for (const d of decoded.readings) {
      let time: number;
      if (d.time === undefined) time = clock.stamp(ctx.deviceId, receivedAt);
      else {
        const timed = timeInWindow(d.time, receivedAt, options, d.timeHint);
        if (!timed.ok) {
          (rejections ??= []).push(rejectionWith(ctx, (kept ??= keep(payload)), receivedAt, timed.code, timed.reason));
          continue;
        }
        time = timed.time;
      }
      // Optional fields set only when present (a spread would allocate an object for each).
      const reading: { -readonly [K in keyof Reading]: Reading[K] } = {
        deviceId: ctx.deviceId,
        pilotId: ctx.pilotId,
        companyId: ctx.companyId,
        testbedId: ctx.testbedId,
        profile: ctx.profile,
        time,
        values: d.values,
      };
      if (d.suspect) reading.suspect = d.suspect;
      if (ctx.name) reading.deviceName = ctx.name;
      readings.push(quality.mark(reading));
    }
    return { readings, rejections: rejections ?? NONE };
  }

  function process(ctx: DeviceContext, payload: Buffer, receivedAt: number): MessageOutcome {
    try {
      return run(ctx, payload, receivedAt);
    } catch (err) {
      // A bug of ours must not take the gateway down with it; the record says what happened.
      return {
        readings: NONE,
        rejections: [rejectionOf(ctx, payload, receivedAt, 'TESTBED_INTERNAL', `the gateway failed on this payload: ${(err as Error).message}`)],
      };
    }
  }

  return {
    process,
    forget: (deviceId: string) => clock.forget(deviceId),
    /** Everything kept about a device, its quality history too (its pilot was erased). */
    erase(deviceId: string) {
      clock.forget(deviceId);
      quality.forget(deviceId);
    },
  };
}

export type Pipeline = ReturnType<typeof createPipeline>;
