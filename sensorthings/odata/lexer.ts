import { badQuery } from './errors.js';

/** A token of an OData expression ($filter, $orderby, the key of a resource path). */
export type Token =
  | { readonly t: 'str'; readonly v: string; readonly at: number }
  | { readonly t: 'num'; readonly v: number; readonly at: number }
  | { readonly t: 'time'; readonly v: number; readonly text: string; readonly at: number }
  | { readonly t: 'geo'; readonly v: string; readonly at: number }
  | { readonly t: 'name'; readonly v: string; readonly at: number }
  | { readonly t: 'punct'; readonly v: '(' | ')' | ',' | '/'; readonly at: number };

// OData ABNF dateTimeOffsetValue; SensorThings writes time literals unquoted (OGC 18-088 9.3.3.5.1).
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})/;
const NUMBER = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/;
const NAME = /^[@A-Za-z_][\w.@]*/;

/** A quoted string from `at` (the opening quote); `''` is one quote (OData ABNF SQUOTE-in-string). */
function readString(text: string, at: number): { value: string; end: number } {
  let value = '';
  for (let i = at + 1; i < text.length; i++) {
    if (text[i] !== "'") value += text[i];
    else if (text[i + 1] === "'") {
      value += "'";
      i++;
    } else return { value, end: i + 1 };
  }
  throw badQuery(`The string that starts at character ${at + 1} is not closed with '`);
}

/** Splits an expression into tokens; whitespace separates and is dropped. */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    const rest = text.slice(i);
    if (/\s/.test(c)) i++;
    else if ('(),/'.includes(c)) tokens.push({ t: 'punct', v: c as '(' | ')' | ',' | '/', at: i++ });
    else if (c === "'") {
      const s = readString(text, i);
      tokens.push({ t: 'str', v: s.value, at: i });
      i = s.end;
    } else if (DATETIME.test(rest)) {
      const m = (DATETIME.exec(rest) as RegExpExecArray)[0];
      const ms = Date.parse(m);
      if (Number.isNaN(ms)) throw badQuery(`${m} is not a valid time`);
      tokens.push({ t: 'time', v: ms, text: m, at: i });
      i += m.length;
    } else if (NUMBER.test(rest)) {
      const m = (NUMBER.exec(rest) as RegExpExecArray)[0];
      tokens.push({ t: 'num', v: Number(m), at: i });
      i += m.length;
    } else if (NAME.test(rest)) {
      const m = (NAME.exec(rest) as RegExpExecArray)[0];
      // geography'POINT(1 2)': a typed literal, OData ABNF geographyPrefix SQUOTE ... SQUOTE.
      if ((m === 'geography' || m === 'geometry') && text[i + m.length] === "'") {
        const s = readString(text, i + m.length);
        tokens.push({ t: 'geo', v: s.value, at: i });
        i = s.end;
      } else {
        tokens.push({ t: 'name', v: m, at: i });
        i += m.length;
      }
    } else throw badQuery(`Unexpected character ${JSON.stringify(c)} at position ${i + 1} of ${JSON.stringify(text)}`);
  }
  return tokens;
}
