/** How a value shows in a table: absent as `-`, lists comma-separated. */
export function cell(value: unknown): string {
  if (value === null || value === undefined || value === '') return '-';
  if (Array.isArray(value)) return value.length === 0 ? '-' : value.map(cell).join(',');
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** A column: its header and how a row gives its value. */
export type Column<T> = readonly [header: string, value: (row: T) => unknown];

/** Rows under a header, each column as wide as its widest cell. */
export function table<T>(columns: readonly Column<T>[], rows: readonly T[]): string {
  const lines = [columns.map(([header]) => header), ...rows.map((row) => columns.map(([, value]) => cell(value(row))))];
  const widths = columns.map((_, i) => Math.max(...lines.map((line) => line[i]!.length)));
  return lines.map((line) => line.map((text, i) => (i === line.length - 1 ? text : text.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

/** One object as label / value lines. */
export function record(pairs: readonly (readonly [label: string, value: unknown])[]): string {
  const width = Math.max(...pairs.map(([label]) => label.length));
  return pairs.map(([label, value]) => `${label.padEnd(width)}  ${cell(value)}`).join('\n') + '\n';
}
