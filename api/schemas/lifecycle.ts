import { z } from 'zod';
import { erasureSchema, pilotExportSchema, storedReceiptSchema } from '../../core/index.js';

export const exportParamsSchema = z.strictObject({ exportId: z.string().min(1) });
export const receiptParamsSchema = z.strictObject({ receiptId: z.string().min(1) });

export const exportResponseSchema = pilotExportSchema.meta({ id: 'Export' });
export const erasureResponseSchema = erasureSchema.meta({ id: 'Erasure' });

export const eraseBodySchema = z.strictObject({
  confirm: z.string().meta({ description: "The pilot's name, exactly: erasure cannot be undone" }),
  force: z.boolean().optional().meta({ description: 'Admin keys only: erase a pilot that has not ended' }),
});

export const receiptResponseSchema = storedReceiptSchema
  .extend({
    /** The decoded claims of `jws`, for reading; verify the `jws` itself. */
    receipt: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'Receipt' });

export const receiptKeySchema = z
  .object({
    kty: z.literal('OKP'),
    crv: z.literal('Ed25519'),
    x: z.string(),
    kid: z.string(),
    alg: z.literal('EdDSA'),
    use: z.literal('sig'),
  })
  .meta({ id: 'ReceiptKey', description: 'The Ed25519 public key erasure receipts are signed with, as a JWK (RFC 8037); kid is its RFC 7638 thumbprint' });

export const zipBody = {
  description: 'The bundle, a ZIP file',
  content: { 'application/zip': { schema: z.string().meta({ format: 'binary' }) } },
} as const;
