import fs from 'node:fs';
import path from 'node:path';
import { TestbedError, type Caller, type Erasure, type PilotExport, type Scope } from '../core/index.js';
import { runErasure } from './erasure.js';
import { buildBundle, bundlePath } from './export-job.js';
import { sweepRetention, type RetentionResult } from './retention.js';
import { ReceiptSigner, type ReceiptPublicKey } from './signing.js';
import type { BundleFile, EraseRequest, LifecycleDeps, PilotLifecycle } from './types.js';

/** The registry secret that seeds the receipt key (see ReceiptSigner.open). */
const RECEIPT_SEED = 'receipt-key';

const DAY_MS = 86_400_000;

/**
 * The lifecycle stage: builds export bundles and runs erasures in the
 * background (one erasure per pilot at a time), and sweeps retention daily.
 */
export class Lifecycle implements PilotLifecycle {
  readonly #deps: LifecycleDeps;
  readonly #signer: ReceiptSigner;
  /** Jobs under way, so a test (and stop) can wait for them. */
  readonly #running = new Set<Promise<void>>();
  readonly #erasing = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  private constructor(deps: LifecycleDeps, signer: ReceiptSigner) {
    this.#deps = deps;
    this.#signer = signer;
  }

  /**
   * Starts the stage: exports a stopped process left half-built are marked
   * failed, erasures it left unfinished resume, and the retention sweep runs
   * every `retentionEveryMs` (first one right away).
   */
  static async start(deps: LifecycleDeps): Promise<Lifecycle> {
    fs.mkdirSync(path.join(deps.dataDir, 'exports'), { recursive: true, mode: 0o700 });
    const lifecycle = new Lifecycle(deps, await ReceiptSigner.open(deps.dataDir, () => deps.registry.secret(RECEIPT_SEED)));
    for (const id of await deps.ledger.failUnfinishedExports()) fs.rmSync(bundlePath(deps.dataDir, id), { force: true });
    lifecycle.#track(lifecycle.#resumeErasures());
    const every = deps.retentionEveryMs ?? DAY_MS;
    if (every > 0) {
      const tick = () => lifecycle.#track(lifecycle.sweepRetention(Date.now()).then(() => lifecycle.#resumeErasures()));
      lifecycle.#timer = setInterval(tick, every);
      lifecycle.#timer.unref();
      tick();
    }
    return lifecycle;
  }

  async startExport(caller: Caller, pilotId: string): Promise<PilotExport | undefined> {
    const pilot = await this.#deps.registry.getPilot(caller.scope, pilotId);
    const job = pilot && (await this.#deps.registry.createExport(caller, pilot.id));
    if (!pilot || !job) return undefined;
    this.#track(
      buildBundle(this.#deps, caller, pilot, job).catch(async (err: unknown) => {
        this.#deps.log.error({ err, exportId: job.id }, 'export bundle failed');
        fs.rmSync(bundlePath(this.#deps.dataDir, job.id), { force: true });
        await this.#deps.ledger.failExport(job.id, err instanceof Error ? err.message : String(err));
      }),
    );
    return job;
  }

  async bundle(scope: Scope, exportId: string): Promise<BundleFile | undefined> {
    const job = await this.#deps.registry.getExport(scope, exportId);
    if (!job) return undefined;
    const file = bundlePath(this.#deps.dataDir, job.id);
    if (job.state !== 'done' || job.bytes === null || !fs.existsSync(file)) {
      const why = job.state === 'running' ? 'it is still being built' : job.state === 'failed' ? `it failed: ${job.error}` : 'its pilot was erased';
      throw new TestbedError('TESTBED_EXPORT_NOT_READY', `Export ${job.id} cannot be downloaded: ${why}`);
    }
    return { path: file, bytes: job.bytes, filename: `${job.pilotId}-${job.id}.zip` };
  }

  async startErasure(caller: Caller, pilotId: string, request: EraseRequest): Promise<Erasure | undefined> {
    const { registry } = this.#deps;
    const pilot = await registry.getPilot(caller.scope, pilotId);
    if (!pilot) return undefined;
    const now = registry.now();
    const ended = pilot.endedAt !== null || (pilot.endsAt !== null && Date.parse(pilot.endsAt) <= now);
    if (request.force && caller.role !== 'admin') throw new TestbedError('TESTBED_FORBIDDEN', 'Only an admin key may force the erasure of a pilot');
    if (!ended && !request.force)
      throw new TestbedError('TESTBED_PILOT_NOT_ENDED', `Pilot ${pilot.id} has not ended; end it first (POST /v1/pilots/${pilot.id}/end)`);
    if (request.confirm !== pilot.name)
      throw new TestbedError('TESTBED_ERASE_NOT_CONFIRMED', "confirm must be the pilot's name, exactly", [
        { in: 'body', field: 'confirm', message: "not the pilot's name" },
      ]);
    // A forced erasure ends the pilot first, so its devices cannot add readings behind it.
    if (!ended) await registry.endPilot(caller.scope, pilot.id);
    const erasure = await registry.beginErasure(caller, pilot.id, request.force === true);
    if (erasure?.state === 'running') this.#erase(erasure);
    return erasure;
  }

  publicKey(): ReceiptPublicKey {
    return this.#signer.publicKey;
  }

  /** One retention sweep (the timer's job); exposed for tests and operations. */
  sweepRetention(now: number): Promise<RetentionResult[]> {
    return sweepRetention(this.#deps, now);
  }

  /** Resolves once every job under way has ended (tests wait on it). */
  async settled(): Promise<void> {
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
  }

  /**
   * Stops the timer and new work. Jobs under way are not waited for: an
   * erasure cut short resumes at the next start, and a half-built export is
   * marked failed then.
   */
  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
  }

  async #resumeErasures(): Promise<void> {
    if (this.#stopped) return;
    for (const erasure of await this.#deps.ledger.unfinishedErasures()) this.#erase(erasure);
  }

  #erase(erasure: Erasure): void {
    if (this.#erasing.has(erasure.pilotId) || this.#stopped) return;
    this.#erasing.add(erasure.pilotId);
    this.#track(
      runErasure(this.#deps, this.#signer, erasure)
        .catch((err: unknown) => {
          if (!this.#stopped) this.#deps.log.error({ err, pilotId: erasure.pilotId }, 'erasure not finished; it is tried again at the next sweep and start');
        })
        .finally(() => this.#erasing.delete(erasure.pilotId)),
    );
  }

  #track(job: Promise<unknown>): void {
    const tracked = job.then(
      () => undefined,
      (err: unknown) => {
        if (!this.#stopped) this.#deps.log.error({ err }, 'lifecycle job failed');
      },
    );
    this.#running.add(tracked);
    void tracked.finally(() => this.#running.delete(tracked));
  }
}
