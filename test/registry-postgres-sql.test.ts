import { describe, expect, it } from 'vitest';
import { toPostgres } from '../registry/sql/postgres-sql.js';

describe("the registry's SQL in PostgreSQL's spelling (pure)", () => {
  it('numbers positional parameters in order, leaving quoted text alone', () => {
    expect(toPostgres("SELECT * FROM t WHERE a = ? AND b = '?' AND \"c?\" = ? AND d = 'it''s ?'")).toEqual({
      text: "SELECT * FROM t WHERE a = $1 AND b = '?' AND \"c?\" = $2 AND d = 'it''s ?'",
      binds: [0, 1],
    });
  });

  it('binds a named parameter once however often it is used', () => {
    expect(toPostgres('UPDATE h SET seen = CASE WHEN seen > @at THEN seen ELSE @at END WHERE id = @id')).toEqual({
      text: 'UPDATE h SET seen = CASE WHEN seen > $1 THEN seen ELSE $1 END WHERE id = $2',
      binds: ['at', 'id'],
    });
  });

  it('gives a parameter tested for NULL its own text-typed place, since PostgreSQL cannot infer its type there', () => {
    expect(toPostgres('SELECT 1 FROM d WHERE (@pilot IS NULL OR pilot_id = @pilot) AND (? IS NOT NULL OR x = ?)')).toEqual({
      text: 'SELECT 1 FROM d WHERE (CAST($1 AS TEXT) IS NULL OR pilot_id = $2) AND (CAST($3 AS TEXT) IS NOT NULL OR x = $4)',
      binds: ['pilot', 'pilot', 0, 1],
    });
  });

  it("reads a bound JSON array's values with json_array_elements_text and quotes capitalised aliases", () => {
    expect(toPostgres('SELECT retention_days AS retentionDays FROM t WHERE id IN (SELECT value FROM json_each(?))').text).toBe(
      'SELECT retention_days AS "retentionDays" FROM t WHERE id IN (SELECT value FROM json_array_elements_text(CAST($1 AS json)))',
    );
  });
});
