/**
 * The range a query reads when `from` or `to` is left out, the same for raw
 * readings and aggregates: from the beginning of what is stored, up to now
 * (inclusive: `to` is exclusive, so now + 1 ms).
 */
export function defaultRange(params: { readonly from?: number | undefined; readonly to?: number | undefined }, now = Date.now()): { from: number; to: number } {
  return { from: params.from ?? 0, to: params.to ?? now + 1 };
}
