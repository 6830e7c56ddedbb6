import { badQuery, unsupported } from './errors.js';
import { parseWkt, type Geometry } from './geo.js';
import { tokenize, type Token } from './lexer.js';

/** The parsed $filter (and $orderby) expression. */
export type Expr =
  | { readonly k: 'lit'; readonly v: string | number | boolean | null }
  | { readonly k: 'time'; readonly ms: number }
  | { readonly k: 'geo'; readonly g: Geometry }
  | { readonly k: 'path'; readonly p: readonly string[] }
  | { readonly k: 'bin'; readonly op: BinaryOp; readonly l: Expr; readonly r: Expr }
  | { readonly k: 'not'; readonly e: Expr }
  | { readonly k: 'call'; readonly name: string; readonly args: readonly Expr[] };

export type BinaryOp = 'or' | 'and' | 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le' | 'add' | 'sub' | 'mul' | 'div' | 'mod';

// OGC 18-088 9.3.3.5.1 Table 9: operators, by OData precedence (OData 4.0 Part 2, 5.1.1.9).
const PRECEDENCE: Readonly<Record<BinaryOp, number>> = { or: 1, and: 2, eq: 3, ne: 3, gt: 3, ge: 3, lt: 3, le: 3, add: 4, sub: 4, mul: 5, div: 5, mod: 5 };
const isBinary = (v: string): v is BinaryOp => Object.hasOwn(PRECEDENCE, v);
const UNARY = 6;

/** OGC 18-088 Table 10 functions this server evaluates, with their arity. */
export const FUNCTIONS: Readonly<Record<string, number>> = {
  substringof: 2,
  startswith: 2,
  endswith: 2,
  contains: 2,
  length: 1,
  indexof: 2,
  substring: 2,
  tolower: 1,
  toupper: 1,
  trim: 1,
  concat: 2,
  year: 1,
  month: 1,
  day: 1,
  hour: 1,
  minute: 1,
  second: 1,
  round: 1,
  floor: 1,
  ceiling: 1,
  'geo.intersects': 2,
  st_intersects: 2,
  st_within: 2,
};

class Parser {
  #i = 0;
  constructor(
    readonly tokens: readonly Token[],
    readonly text: string,
  ) {}

  peek(): Token | undefined {
    return this.tokens[this.#i];
  }
  next(): Token {
    const t = this.tokens[this.#i++];
    if (!t) throw badQuery(`${JSON.stringify(this.text)} ends too early`);
    return t;
  }
  expect(v: '(' | ')' | ','): void {
    const t = this.next();
    if (t.t !== 'punct' || t.v !== v) throw badQuery(`Expected "${v}" at position ${t.at + 1} of ${JSON.stringify(this.text)}`);
  }
  done(): boolean {
    return this.#i >= this.tokens.length;
  }

  expression(min = 0): Expr {
    let left = this.unary();
    for (;;) {
      const t = this.peek();
      if (!t || t.t !== 'name') break;
      if (!isBinary(t.v)) throw this.unknownOperator(t.v);
      if (PRECEDENCE[t.v] <= min) break;
      this.next();
      left = { k: 'bin', op: t.v, l: left, r: this.expression(PRECEDENCE[t.v]) };
    }
    return left;
  }

  unknownOperator(v: string) {
    return ['has', 'in', 'any', 'all'].includes(v)
      ? unsupported(`the operator ${v}`)
      : badQuery(`Expected an operator at "${v}" in ${JSON.stringify(this.text)}`);
  }

  unary(): Expr {
    const t = this.peek();
    if (t?.t === 'name' && t.v === 'not') return (this.next(), { k: 'not', e: this.expression(UNARY) });
    return this.primary();
  }

  primary(): Expr {
    const t = this.next();
    switch (t.t) {
      case 'str':
        return { k: 'lit', v: t.v };
      case 'num':
        return { k: 'lit', v: t.v };
      case 'time':
        return { k: 'time', ms: t.v };
      case 'geo':
        return { k: 'geo', g: parseWkt(t.v) };
      case 'punct': {
        if (t.v !== '(') throw badQuery(`Unexpected "${t.v}" at position ${t.at + 1} of ${JSON.stringify(this.text)}`);
        const inner = this.expression();
        this.expect(')');
        return inner;
      }
      case 'name':
        return this.name(t.v);
    }
  }

  name(v: string): Expr {
    if (v === 'true' || v === 'false') return { k: 'lit', v: v === 'true' };
    if (v === 'null') return { k: 'lit', v: null };
    const t = this.peek();
    if (t?.t === 'punct' && t.v === '(') {
      const arity = FUNCTIONS[v];
      if (arity === undefined) throw unsupported(`the function ${v}()`, `supported: ${Object.keys(FUNCTIONS).join(', ')}`);
      this.next();
      const args: Expr[] = [];
      while (!(this.peek()?.t === 'punct' && this.peek()?.v === ')')) {
        if (args.length) this.expect(',');
        args.push(this.expression());
      }
      this.expect(')');
      if (args.length !== arity && !(v === 'substring' && args.length === 3)) throw badQuery(`${v}() takes ${arity} arguments, not ${args.length}`);
      return { k: 'call', name: v, args };
    }
    const path = [v];
    while (this.peek()?.t === 'punct' && this.peek()?.v === '/') {
      this.next();
      const part = this.next();
      if (part.t !== 'name') throw badQuery(`Expected a property name after "/" in ${JSON.stringify(this.text)}`);
      path.push(part.v);
    }
    return { k: 'path', p: path };
  }
}

/** Parses a $filter expression (OGC 18-088 9.3.3.5). */
export function parseFilter(text: string): Expr {
  const parser = new Parser(tokenize(text), text);
  if (parser.done()) throw badQuery('$filter is empty');
  const expr = parser.expression();
  if (!parser.done()) throw badQuery(`Unexpected "${String(parser.peek()?.v)}" in $filter ${JSON.stringify(text)}`);
  return expr;
}

/** One $orderby term (OGC 18-088 9.3.3.3): an expression and its direction. */
export interface OrderTerm {
  readonly by: Expr;
  readonly desc: boolean;
}

/** Parses $orderby: comma-separated expressions, each optionally followed by asc or desc. */
export function parseOrderBy(text: string): OrderTerm[] {
  const parser = new Parser(tokenize(text), text);
  const terms: OrderTerm[] = [];
  while (!parser.done()) {
    if (terms.length) parser.expect(',');
    const by = parser.unary();
    const dir = parser.peek();
    let desc = false;
    if (dir?.t === 'name' && (dir.v === 'asc' || dir.v === 'desc')) {
      parser.next();
      desc = dir.v === 'desc';
    }
    terms.push({ by, desc });
  }
  if (!terms.length) throw badQuery('$orderby is empty');
  return terms;
}
