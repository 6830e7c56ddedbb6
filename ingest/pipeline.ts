import { isUtf8 } from 'node:buffer';
import type { ErrorCode } from '../core/errors.js';
import type { DeviceContext } from '../core/model.js';
import type { Reading, Rejection } from '../core/store/types.js';
import type { ProfileCatalogue } from '../device-profiles/load.js';
import { decodeJson } from './decode.js';
import { ReceiptClock, readingTime, type TimePolicy } from './normalise.js';

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

/** Builds the rejection record of a message that failed a step. */
export function rejectionOf(ctx: Pick<DeviceContext, 'deviceId' | 'pilotId' | 'companyId' | 'testbedId'>, payload: Buffer, time: number, code: ErrorCode, reason: string): Rejection {
  const kept = payload.length > REJECTION_PAYLOAD_CAP ? payload.subarray(0, REJECTION_PAYLOAD_CAP) : payload;
  // A cut may split a UTF-8 sequence, so test the kept bytes, not the whole payload.
  const text = isUtf8(kept);
  return {
    deviceId: ctx.deviceId,
    pilotId: ctx.pilotId,
    companyId: ctx.companyId,
    testbedId: ctx.testbedId,
    time,
    code,
    reason,
    payload: kept.toString(text ? 'utf8' : 'base64'),
    payloadEncoding: text ? 'utf8' : 'base64',
    payloadBytes: payload.length,
  };
}

/**
 * The ingest pipeline of one message, as named steps:
 * size -> decode -> resolve profile -> validate -> normalise.
 * Every failure is an outcome (a rejection with a code), never a throw.
 */
export function createPipeline(profiles: ProfileCatalogue, options: PipelineOptions) {
  const clock = new ReceiptClock();

  function process(ctx: DeviceContext, payload: Buffer, receivedAt: number): MessageOutcome {
    const reject = (code: ErrorCode, reason: string): MessageOutcome => ({ readings: NONE, rejections: [rejectionOf(ctx, payload, receivedAt, code, reason)] });

    if (payload.length > options.maxPayloadBytes) {
      return reject('TESTBED_READING_TOO_LARGE', `the payload is ${payload.length} bytes; the gateway accepts at most ${options.maxPayloadBytes}`);
    }
    const decoded = decodeJson(payload);
    if (!decoded.ok) return reject(decoded.code, decoded.reason);

    const profile = profiles.get(ctx.profile);
    if (!profile) return reject('TESTBED_READING_UNKNOWN_PROFILE', `the device's profile ${ctx.profile} is not loaded on this gateway`);

    const valid = profile.validate(decoded.payload);
    if (!valid.ok) return reject(valid.code, valid.reason);

    let time: number;
    if (valid.time === undefined) time = clock.stamp(ctx.deviceId, receivedAt);
    else {
      const timed = readingTime(valid.time, receivedAt, options);
      if (!timed.ok) return reject(timed.code, timed.reason);
      time = timed.time;
    }
    const reading: Reading = {
      deviceId: ctx.deviceId,
      pilotId: ctx.pilotId,
      companyId: ctx.companyId,
      testbedId: ctx.testbedId,
      profile: ctx.profile,
      time,
      values: valid.values,
    };
    return { readings: [reading], rejections: NONE };
  }

  return { process, forget: (deviceId: string) => clock.forget(deviceId) };
}

export type Pipeline = ReturnType<typeof createPipeline>;
