import type { Caller, Erasure, Logger, PilotExport, Scope } from '../core/index.js';
import type { ProfileCatalogue } from '../device-profiles/index.js';
import type { LifecycleLedger, TestbedRegistry } from '../registry/index.js';
import type { ErasureCheck, ReadingStore, RejectionLog } from '../store/index.js';
import type { ReceiptPublicKey } from './signing.js';

/** What an erasure request says: the pilot's name, typed again, and (admins only) whether to erase a pilot that has not ended. */
export interface EraseRequest {
  readonly confirm: string;
  readonly force?: boolean | undefined;
}

/** A finished bundle on disk, ready to be streamed. */
export interface BundleFile {
  readonly path: string;
  readonly bytes: number;
  readonly filename: string;
}

/**
 * The end of a pilot, as the API reaches it: export bundles built in the
 * background, erasure with a signed receipt, and the key receipts verify with.
 * Every method takes the caller (or its scope): an object outside it answers
 * undefined, as a missing one does.
 */
export interface PilotLifecycle {
  /** Starts building a bundle of a pilot the caller sees. */
  startExport(caller: Caller, pilotId: string): Promise<PilotExport | undefined>;
  /** A done export's file; TESTBED_EXPORT_NOT_READY while it runs or when it failed. */
  bundle(scope: Scope, exportId: string): Promise<BundleFile | undefined>;
  /**
   * Starts (or, when already started, reports) the erasure of a pilot the
   * caller sees: confirmed by its name, and ended unless an admin forces it.
   */
  startErasure(caller: Caller, pilotId: string, request: EraseRequest): Promise<Erasure | undefined>;
  /** The public key receipts are signed with. */
  publicKey(): ReceiptPublicKey;
}

/** The gateway's device connections, as far as erasure needs them. */
export interface Disconnector {
  disconnect(deviceId: string, reason?: 'revoked' | 'pilot ended'): void;
}

/**
 * What the other stages keep of a device outside the stores and the registry:
 * the queue's files on disk, the broker's retained messages, per-device state
 * in memory. The composition root joins them.
 */
export interface DeviceTraces {
  /**
   * Forgets the devices: per-device state in memory, their retained messages
   * on the broker, and the queue's segments on disk, deleted once delivered
   * (undelivered records are delivered first, never dropped). Idempotent.
   */
  forget(deviceIds: readonly string[]): Promise<void>;
  /** One check per place and needle (a device id, the pilot id): how many of its files or messages still hold it. */
  check(pilotId: string, deviceIds: readonly string[]): Promise<ErasureCheck[]>;
}

/** What the composition root hands the lifecycle stage. */
export interface LifecycleDeps {
  readonly registry: TestbedRegistry;
  readonly ledger: LifecycleLedger;
  readonly readings: ReadingStore;
  readonly rejections: RejectionLog;
  readonly profiles: ProfileCatalogue;
  readonly log: Logger;
  /** The data folder: bundles go to `exports/`; a receipt key made there by an earlier version (`receipt-key.pem`) is kept. */
  readonly dataDir: string;
  readonly sessions?: Disconnector | undefined;
  /**
   * Resolves once every reading the gateway accepted before `since` (epoch ms)
   * has left the queue on disk for the store, so an erasure deletes nothing that
   * is still on its way. Without it (no ingest stage) there is nothing to wait for.
   */
  readonly queueSettled?: ((since: number) => Promise<void>) | undefined;
  /** Where devices leave traces outside the stores; without it (no gateway or ingest) there are none. */
  readonly traces?: DeviceTraces | undefined;
  /** Milliseconds between retention sweeps; 24 h by default. 0: no timer (tests run `sweepRetention`). */
  readonly retentionEveryMs?: number | undefined;
}
