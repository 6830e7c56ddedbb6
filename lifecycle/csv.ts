/**
 * CSV as RFC 4180 has it (section 2, rules 6 and 7): CRLF line ends; a field
 * holding a comma, a double quote, CR or LF is enclosed in double quotes, with
 * a double quote inside doubled.
 */
const NEEDS_QUOTES = /[",\r\n]/;

const field = (value: string | number | undefined): string => {
  if (value === undefined) return '';
  const text = String(value);
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
};

export const csvLine = (fields: readonly (string | number | undefined)[]): string => `${fields.map(field).join(',')}\r\n`;
