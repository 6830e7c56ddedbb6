/**
 * The end of a pilot: export bundles with checksums, erasure with a signed
 * receipt, and retention. `Lifecycle.start` is the stage's entry; the API
 * reaches it through the `PilotLifecycle` interface (types only).
 */
export { Lifecycle } from './service.js';
export { EXPORT_PAGE_ROWS, MANIFEST_FORMAT } from './export-job.js';
export { RECEIPT_KEY_FILE, type ReceiptPublicKey } from './signing.js';
export type { RetentionResult } from './retention.js';
export type { BundleFile, DeviceTraces, Disconnector, EraseRequest, LifecycleDeps, PilotLifecycle } from './types.js';
