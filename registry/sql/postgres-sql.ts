/**
 * The registry's SQL is written once, in the subset SQLite and PostgreSQL
 * share. What differs only in spelling is rewritten here, once per statement,
 * for PostgreSQL:
 *
 * - parameters: `?` (positional) and `@name` (named, in one object) become
 *   `$1…`; a named parameter used twice is bound once;
 * - a parameter tested for NULL (`? IS NULL`, `@x IS NOT NULL`) gets its own
 *   `$n`, cast to text: PostgreSQL cannot tell the type of a parameter whose
 *   only use is a NULL test, and only whether it is NULL matters there;
 * - `json_each(x)`, which the registry uses for the `value`s of a JSON array,
 *   becomes `json_array_elements_text(CAST(x AS json))`, whose column is
 *   also `value`;
 * - identifiers with capitals (`AS retentionDays`) are quoted, since
 *   PostgreSQL folds unquoted ones to lower case.
 *
 * Quoted strings and identifiers in the SQL are copied as they are.
 */
export interface PostgresStatement {
  readonly text: string;
  /** For each `$n`, the parameter it binds: a position in the call's arguments, or a name in its one object. */
  readonly binds: readonly (number | string)[];
}

const NULL_TEST = /^\s+IS\s+(NOT\s+)?NULL\b/i;

export function toPostgres(sql: string): PostgresStatement {
  const binds: (number | string)[] = [];
  const named = new Map<string, number>();
  let positional = 0;
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === "'" || c === '"') {
      const end = closing(sql, i);
      out += sql.slice(i, end);
      i = end;
      continue;
    }
    if (c === '?' || (c === '@' && /[A-Za-z_]/.test(sql[i + 1] ?? ''))) {
      let bind: number | string;
      let length = 1;
      if (c === '?') {
        bind = positional++;
      } else {
        const name = /^@([A-Za-z_]\w*)/.exec(sql.slice(i))![1]!;
        bind = name;
        length = name.length + 1;
      }
      const rest = sql.slice(i + length);
      if (NULL_TEST.test(rest)) {
        binds.push(bind);
        out += `CAST($${binds.length} AS TEXT)`;
      } else if (typeof bind === 'string' && named.has(bind)) {
        out += `$${named.get(bind)}`;
      } else {
        binds.push(bind);
        if (typeof bind === 'string') named.set(bind, binds.length);
        out += `$${binds.length}`;
      }
      i += length;
      continue;
    }
    out += c;
    i += 1;
  }
  const text = out.replace(/\bjson_each\(([^()]*)\)/g, 'json_array_elements_text(CAST($1 AS json))').replace(/\b(AS\s+)([a-z]+[A-Z]\w*)\b/g, '$1"$2"');
  return { text, binds };
}

/** The index just past the quoted string or identifier that opens at `start` (a doubled quote stays inside). */
function closing(sql: string, start: number): number {
  const quote = sql[start];
  let i = start + 1;
  while (i < sql.length) {
    if (sql[i] === quote) {
      if (sql[i + 1] === quote) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i += 1;
  }
  return sql.length;
}
