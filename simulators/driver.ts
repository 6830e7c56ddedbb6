import type { ErrorCode } from '../core/index.js';
import type { PayloadFormat, Profile } from '../device-profiles/index.js';
import { writeRaw, type Encoder, type TimedValues } from './encode.js';
import { applicableFaults, drawFault, expectedCode, outOfRangeChoices, type Faults, type FaultKind, type OutOfRange, type TimeWindow } from './faults.js';
import { drainedLevel, isGarbage, isQuiet, type Battery, type DeviceMode } from './modes.js';
import type { Random } from './random.js';
import type { ReadingGenerator } from './signals.js';

/** What the driver needs of a connection (VirtualDevice). */
export interface Connection {
  publishPayload(payload: string | Buffer): boolean;
  goOffline(): Promise<void>;
  goOnline(): Promise<void>;
}

export interface DriverOptions {
  readonly connection: Connection;
  readonly profile: Pick<Profile, 'measurements' | 'binary' | 'formats'>;
  readonly format: PayloadFormat;
  readonly generator: ReadingGenerator;
  readonly encoder: Encoder;
  /** How a backlog is sent late: a SenML encoder when the profile takes SenML, else a JSON one (readings keep their times). */
  readonly backlogEncoder: Encoder;
  readonly faults: Faults;
  /** The device's own stream for drawing faults, apart from its signals. */
  readonly random: Random;
  /** Put the reading's own time in JSON and SenML payloads. */
  readonly includeTime: boolean;
  readonly window: TimeWindow;
  /** A standing fault (modes.ts), beside the rates. */
  readonly mode?: DeviceMode | undefined;
  /** Readings per reporting interval of the profile (a scenario's speed), for the `silent` cycle; default 1. */
  readonly perInterval?: number | undefined;
  /** The battery a `battery-drain` device runs down. */
  readonly battery?: Battery | undefined;
}

/** What a driver did on purpose: faults by kind, the rejections they should get, readings never sent. */
export interface DriverStats {
  readonly faults: Readonly<Partial<Record<FaultKind, number>>>;
  readonly expected: Readonly<Partial<Record<ErrorCode, number>>>;
  readonly missed: number;
}

/**
 * One virtual device's behaviour, reading by reading: its signal, encoded in
 * its format, published; and, at the rates it is given, its faults. Each fault
 * is counted with the rejection code it should get, so a run can be checked
 * against what the gateway answered.
 */
export class DeviceDriver {
  readonly #o: DriverOptions;
  readonly #applicable: ReadonlySet<FaultKind>;
  readonly #outOfRange: readonly OutOfRange[];
  readonly #faults: Partial<Record<FaultKind, number>> = {};
  readonly #expected: Partial<Record<ErrorCode, number>> = {};
  #missed = 0;
  #last: Readonly<Record<string, number>> | undefined;
  #stuck = 0;
  #silent = 0;
  #offline = 0;
  #backlog: TimedValues[] | undefined;
  #backlogLeft = 0;
  /** Readings due so far: where the device is in its mode's cycle. */
  #due = 0;

  constructor(o: DriverOptions) {
    this.#o = o;
    this.#applicable = applicableFaults(o.profile, o.format, o.includeTime);
    this.#outOfRange = outOfRangeChoices(o.profile, o.format);
  }

  stats(): DriverStats {
    return { faults: { ...this.#faults }, expected: { ...this.#expected }, missed: this.#missed };
  }

  /** The reading due at `now`. */
  async tick(now: number): Promise<void> {
    const n = this.#due++;
    const mode = this.#o.mode;
    if (mode === 'silent' && isQuiet(n, this.#o.perInterval)) {
      this.#missed++;
      return;
    }
    if (this.#silent > 0) {
      this.#silent--;
      this.#missed++;
      return;
    }
    if (this.#offline > 0) {
      this.#missed++;
      if (--this.#offline === 0) await this.#o.connection.goOnline();
      return;
    }
    if (mode === 'flapping' && !this.#backlog) {
      await this.#o.connection.goOffline();
      await this.#o.connection.goOnline();
    }
    const fresh = this.#o.generator.next(now);
    const battery = this.#o.battery;
    const drained = mode === 'battery-drain' && battery ? { ...fresh, [battery.measurement]: drainedLevel(battery, n) } : fresh;
    const values = this.#stuck > 0 && this.#last ? this.#last : drained;
    if (this.#stuck > 0) this.#stuck--;
    this.#last = values;
    const time = this.#o.includeTime && this.#o.format !== 'binary' ? now : undefined;

    if (this.#backlog) {
      this.#backlog.push({ values, time: now });
      if (--this.#backlogLeft === 0) await this.#flushBacklog();
      return;
    }
    // A garbage device's bad reading takes the place of whatever fault would have been drawn.
    const fault = mode === 'garbage' && isGarbage(n) ? 'malformed' : drawFault(this.#o.random, this.#o.faults, this.#applicable);
    if (fault) this.#count(fault);
    switch (fault) {
      case 'gap':
        this.#silent = this.#o.faults.gapReadings - 1;
        this.#missed++;
        return;
      case 'disconnect':
        await this.#o.connection.goOffline();
        this.#missed++;
        this.#offline = this.#o.faults.offlineReadings - 1;
        if (this.#offline === 0) await this.#o.connection.goOnline();
        return;
      case 'backlog':
        await this.#o.connection.goOffline();
        this.#backlog = [{ values, time: now }];
        this.#backlogLeft = this.#o.faults.backlogReadings - 1;
        if (this.#backlogLeft === 0) await this.#flushBacklog();
        return;
      case 'stuck':
        this.#stuck = this.#o.faults.stuckReadings - 1;
        this.#publish(this.#o.encoder.encode({ values, time }));
        return;
      case 'duplicate': {
        const payload = this.#o.encoder.encode({ values, time });
        this.#publish(payload);
        this.#publish(payload);
        return;
      }
      case 'malformed': {
        const payload = this.#o.encoder.encode({ values, time });
        this.#publish(payload.subarray(0, this.#o.format === 'binary' ? payload.length - 1 : Math.floor(payload.length / 2)));
        return;
      }
      case 'outOfRange':
        this.#publish(this.#outOfRangePayload(values, time));
        return;
      case 'clockSkew':
        this.#publish(this.#o.encoder.encode({ values, time: now + this.#o.faults.skewSeconds * 1000 }));
        return;
      default:
        this.#publish(this.#o.encoder.encode({ values, time }));
    }
  }

  /** At the end of a run: a backlog still kept is sent, an offline device comes back. */
  async finish(): Promise<void> {
    if (this.#backlog) await this.#flushBacklog();
    if (this.#offline > 0) {
      this.#offline = 0;
      await this.#o.connection.goOnline();
    }
  }

  #count(fault: FaultKind): void {
    this.#faults[fault] = (this.#faults[fault] ?? 0) + 1;
    const code = expectedCode(fault, this.#o.format, this.#o.faults, this.#o.window);
    if (code) this.#expected[code] = (this.#expected[code] ?? 0) + 1;
  }

  #publish(payload: Buffer): void {
    this.#o.connection.publishPayload(payload);
  }

  #outOfRangePayload(values: Readonly<Record<string, number>>, time: number | undefined): Buffer {
    const choice = this.#outOfRange[Math.floor(this.#o.random.next() * this.#outOfRange.length)]!;
    if (this.#o.format !== 'binary') return this.#o.encoder.encode({ values: { ...values, [choice.measurement]: choice.value }, time });
    const payload = this.#o.encoder.encode({ values, time });
    const layout = this.#o.profile.binary!;
    writeRaw(
      payload,
      layout.fields.find((f) => f.measurement === choice.measurement)!,
      layout.byteOrder,
      choice.raw!,
    );
    return payload;
  }

  async #flushBacklog(): Promise<void> {
    const kept = this.#backlog ?? [];
    this.#backlog = undefined;
    this.#backlogLeft = 0;
    await this.#o.connection.goOnline();
    const late = this.#o.backlogEncoder;
    if (late.format === 'senml') this.#publish(late.encodePack(kept));
    else for (const reading of kept) this.#publish(late.encode(reading));
  }
}
