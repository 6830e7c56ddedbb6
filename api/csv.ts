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
  ) {
    super(`CSV line ${line}: ${message}`);
    this.name = 'CsvError';
  }
}

/**
 * Parses CSV into records of fields. Takes CRLF or LF line ends, quoted fields
 * (with doubled quotes and line breaks inside), a UTF-8 byte order mark, and
 * ignores empty lines. Throws CsvError for a quote out of place or an
 * unterminated quoted field.
 */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const endRecord = () => {
    record.push(field);
    if (record.length > 1 || record[0] !== '') records.push(record);
    record = [];
    field = '';
  };
  while (i < text.length) {
    const c = text[i] as string;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (c === '"') {
        quoted = false;
        const next = text[i + 1];
        if (next !== undefined && next !== ',' && next !== '\r' && next !== '\n') throw new CsvError(line, 'a closing quote must end its field');
      } else {
        if (c === '\n') line++;
        field += c;
      }
      i++;
      continue;
    }
    if (c === '"') {
      if (field !== '') throw new CsvError(line, 'a quote may only open a field');
      quoted = true;
    } else if (c === ',') {
      record.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      endRecord();
      if (c === '\r' && text[i + 1] === '\n') i++;
      line++;
    } else {
      field += c;
    }
    i++;
  }
  if (quoted) throw new CsvError(line, 'a quoted field is not closed');
  if (field !== '' || record.length > 0) endRecord();
  return records;
}
