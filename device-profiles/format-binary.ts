import { z } from 'zod';

/**
 * A binary payload layout: fixed fields at fixed byte offsets, each read with
 * one of Node's Buffer readers and turned into a value by scale and offset.
 * It is data, never code: a profile cannot make the gateway run anything.
 */
export const BINARY_TYPE_SIZES = {
  int8: 1,
  uint8: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  float32: 4,
  float64: 8,
} as const;

export type BinaryType = keyof typeof BINARY_TYPE_SIZES;

const binaryTypes = Object.keys(BINARY_TYPE_SIZES) as [BinaryType, ...BinaryType[]];
const byteOrder = z.enum(['big', 'little']);

export const binaryFieldSchema = z
  .object({
    /** The measurement this field holds. */
    measurement: z.string(),
    /** Byte offset of the field in the payload. */
    at: z.number().int().nonnegative(),
    type: z.enum(binaryTypes),
    /** Overrides the layout's byte order for this field. */
    byteOrder: byteOrder.optional(),
    /** value = raw × scale + offset, in `unit`. */
    scale: z
      .number()
      .refine((s) => s !== 0 && Number.isFinite(s), 'scale must be a finite number other than 0')
      .default(1),
    offset: z.number().default(0),
    /** The unit of the scaled value: the measurement's unit (default) or one of its alternativeUnits. */
    unit: z.string().min(1).optional(),
    /** A raw value that means "not measured" (e.g. 32767 while a sensor warms up): the measurement is left out. */
    noValue: z.number().optional(),
  })
  .strict();

export const binaryLayoutSchema = z
  .object({
    /** Byte order of multi-byte fields: big-endian (network order, the default) or little-endian. */
    byteOrder: byteOrder.default('big'),
    /**
     * Bytes every payload starts with, as hex (e.g. "01"): a message type or
     * layout version. Required when the profile also accepts JSON or SenML, so
     * the first byte tells the formats apart.
     */
    header: z
      .string()
      .regex(/^([0-9a-fA-F]{2})+$/, 'must be bytes in hex, e.g. "01"')
      .optional(),
    /** The exact payload size in bytes; default: the end of the last field. */
    length: z.number().int().positive().optional(),
    fields: z.array(binaryFieldSchema).min(1),
  })
  .strict();

export type BinaryField = z.infer<typeof binaryFieldSchema>;
export type BinaryLayout = z.infer<typeof binaryLayoutSchema>;

/** The payload size a layout requires. */
export function layoutLength(layout: BinaryLayout): number {
  const header = (layout.header?.length ?? 0) / 2;
  return layout.length ?? Math.max(header, ...layout.fields.map((f) => f.at + BINARY_TYPE_SIZES[f.type]));
}
