import { parse } from 'csv-parse/sync';

/**
 * CSV as RFC 4180 has it: CRLF line ends, a field holding a comma, a double
 * quote, CR or LF is enclosed in double quotes, and a double quote inside one
 * is doubled (section 2, rules 6 and 7).
 */

const NEEDS_QUOTES = /[",\r\n]/;

export function csvField(value: string | number | undefined): string {
  if (value === undefined) return '';
  const text = String(value);
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvLine(fields: readonly (string | number | undefined)[]): string {
  return `${fields.map(csvField).join(',')}\r\n`;
}

/** A CSV text that is not well formed: where and why. */
export class CsvError extends Error {
  constructor(
    readonly line: number,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`CSV line ${line}: ${message}`, options);
    this.name = 'CsvError';
  }
}

/** The delimiters a CSV body may use: `,` as RFC 4180 has it, `;` as spreadsheets write it where the decimal mark is a comma (fi, de, fr, ...). */
export type CsvDelimiter = ',' | ';';

/** The header line's delimiter: whichever of `,` and `;` it has more of outside quotes (`,` for a single column). */
export function detectDelimiter(text: string): CsvDelimiter {
  const counts = { ',': 0, ';': 0 };
  let quoted = false;
  for (const c of text) {
    if (c === '"') quoted = !quoted;
    else if (!quoted && (c === '\n' || c === '\r')) break;
    else if (!quoted && (c === ',' || c === ';')) counts[c]++;
  }
  return counts[';'] > counts[','] ? ';' : ',';
}

/** One record of a CSV body, with the line it ends on (1-based). */
export interface CsvRecord {
  readonly fields: string[];
  readonly line: number;
}

/**
 * Parses CSV (RFC 4180, with `,` or `;` as the delimiter, detected from the
 * header line) into records of fields, with csv-parse. Takes CRLF or LF line
 * ends, quoted fields (with doubled quotes and line breaks inside), a UTF-8 byte
 * order mark, and ignores empty lines. Records may differ in length: the caller
 * says what it expects. Throws CsvError for a quote out of place or an
 * unterminated quoted field.
 */
export function parseCsv(text: string): { delimiter: CsvDelimiter; records: CsvRecord[] } {
  const delimiter = detectDelimiter(text.replace(/^\uFEFF/, ''));
  try {
    const rows = parse(text, {
      bom: true,
      delimiter,
      record_delimiter: ['\r\n', '\n', '\r'],
      skip_empty_lines: true,
      relax_column_count: true,
      info: true,
    }) as unknown as {
      record: string[];
      info: { lines: number };
    }[];
    return { delimiter, records: rows.map(({ record, info }) => ({ fields: record, line: info.lines })) };
  } catch (err) {
    const e = err as Error & { lines?: number };
    // csv-parse words its messages for programmers ("Invalid Opening Quote: ..."); the line is what a person needs.
    throw new CsvError(e.lines ?? 1, e.message, { cause: err });
  }
}
