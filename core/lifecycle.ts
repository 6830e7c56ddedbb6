import { z } from 'zod';

/**
 * The end of a pilot, as the registry keeps it and the API shows it: export
 * bundles, erasures and their signed receipts. One definition for both.
 */
const isoTime = z.iso.datetime({ offset: true });

export const exportStateSchema = z.enum(['running', 'done', 'failed']);

export const pilotExportSchema = z.object({
  id: z.string().meta({ example: 'exp_3kT9wq1ZbYx0aL2m' }),
  pilotId: z.string(),
  state: exportStateSchema,
  /** Readings written to the bundle so far, and how many the pilot had when the export began. */
  readingsWritten: z.number().int(),
  readingsTotal: z.number().int(),
  /** The bundle's size and SHA-256 (hex), once it is done. */
  bytes: z.number().int().nullable(),
  sha256: z.string().nullable(),
  /** The SHA-256 (hex) of the bundle's manifest.json, which lists every other file's size, rows and SHA-256. */
  manifestSha256: z.string().nullable(),
  /** Why it failed, when it did. */
  error: z.string().nullable(),
  requestedBy: z.string(),
  createdAt: isoTime,
  finishedAt: isoTime.nullable(),
});
export type PilotExport = z.infer<typeof pilotExportSchema>;

export const erasureStateSchema = z.enum(['none', 'running', 'done']);

export const erasureSchema = z.object({
  pilotId: z.string(),
  /** none: never asked; running: under way (it resumes after a restart); done: the receipt is issued. */
  state: erasureStateSchema,
  forced: z.boolean(),
  requestedBy: z.string().nullable(),
  startedAt: isoTime.nullable(),
  finishedAt: isoTime.nullable(),
  /** The receipt's id, known from the start; `GET /v1/receipts/{receiptId}` answers once the erasure is done. */
  receiptId: z.string().nullable(),
});
export type Erasure = z.infer<typeof erasureSchema>;

export const storedReceiptSchema = z.object({
  id: z.string(),
  pilotId: z.string(),
  /** The signed receipt: a JWS in compact form (RFC 7515), `alg: EdDSA` (RFC 8037), signed with the gateway's receipt key. */
  jws: z.string(),
  createdAt: isoTime,
});
export type StoredReceipt = z.infer<typeof storedReceiptSchema>;
