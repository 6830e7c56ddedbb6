import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';

export interface Column<T> {
  title: string;
  cell: (row: T) => ComponentChildren;
  /** Right-aligned numbers. */
  numeric?: boolean;
}

const PAGE_SIZE = 50;

/**
 * A table that renders one page of its rows at a time, so a pilot of a
 * thousand devices costs the browser fifty rows. `rows` is already filtered.
 */
export function PagedTable<T>({ rows, columns, rowKey, label }: { rows: readonly T[]; columns: Column<T>[]; rowKey: (row: T) => string; label: string }) {
  const [page, setPage] = useState(0);
  const pages = Math.max(1, Math.ceil(rows.length / PAGE_SIZE));
  useEffect(() => {
    if (page >= pages) setPage(0);
  }, [page, pages]);
  const first = Math.min(page, pages - 1) * PAGE_SIZE;
  const shown = rows.slice(first, first + PAGE_SIZE);
  return (
    <div class="table-wrap">
      <table aria-label={label}>
        <thead>
          <tr>
            {columns.map((c) => (
              <th scope="col" class={c.numeric ? 'num' : undefined}>
                {c.title}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {shown.map((row) => (
            <tr key={rowKey(row)}>
              {columns.map((c) => (
                <td class={c.numeric ? 'num' : undefined}>{c.cell(row)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length > PAGE_SIZE && (
        <nav class="pager" aria-label={`${label} pages`}>
          <button type="button" disabled={first === 0} onClick={() => setPage(page - 1)}>
            Previous
          </button>
          <span>
            {first + 1}–{first + shown.length} of {rows.length}
          </span>
          <button type="button" disabled={first + PAGE_SIZE >= rows.length} onClick={() => setPage(page + 1)}>
            Next
          </button>
        </nav>
      )}
    </div>
  );
}
