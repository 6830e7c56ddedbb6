import { DEFAULT_LICENCE, TestbedError, type EmbargoSharing, type Sharing } from '../core/index.js';

/** The sharing columns of a pilot row. */
export interface SharingRow {
  sharing: Sharing;
  open_from: number | null;
  embargo_sharing: EmbargoSharing;
  licence: string | null;
}

/** The tier in force at `now`: an open pilot under embargo is its `embargo_sharing` until `open_from`. */
export function sharingAt(row: SharingRow, now: number): Sharing {
  if (row.sharing === 'open' && row.open_from !== null && row.open_from > now) return row.embargo_sharing;
  return row.sharing;
}

/**
 * SQL over `pilots` for "in force at `?` (the clock)", the twin of `sharingAt`,
 * each taking the clock once. Open: open and past any embargo. Shared with
 * research: research, or open (under an embargo that is research, or past it).
 */
export const OPEN_NOW_SQL = `(sharing = 'open' AND (open_from IS NULL OR open_from <= ?))`;
export const RESEARCH_NOW_SQL = `(sharing = 'research' OR (sharing = 'open' AND (embargo_sharing = 'research' OR open_from IS NULL OR open_from <= ?)))`;

/**
 * The sharing columns after a change, checked: `openFrom` belongs to an open
 * pilot (making a pilot not open drops it unless it is given), and an open
 * pilot always has a licence, CC-BY-4.0 unless one was chosen.
 */
export function nextSharing(
  row: SharingRow,
  changes: {
    sharing?: Sharing | undefined;
    openFrom?: number | null | undefined;
    embargoSharing?: EmbargoSharing | undefined;
    licence?: string | null | undefined;
  },
): SharingRow {
  const sharing = changes.sharing ?? row.sharing;
  let openFrom = changes.openFrom === undefined ? row.open_from : changes.openFrom;
  if (sharing !== 'open' && openFrom !== null) {
    if (changes.openFrom !== undefined)
      throw new TestbedError('TESTBED_BAD_REQUEST', 'openFrom is the end of an embargo on an open pilot: give it with sharing: open');
    openFrom = null;
  }
  let licence = changes.licence === undefined ? row.licence : changes.licence;
  if (sharing === 'open' && licence === null) {
    if (changes.licence === null) throw new TestbedError('TESTBED_BAD_REQUEST', 'An open pilot has a licence; give another one instead of null');
    licence = DEFAULT_LICENCE;
  }
  return { sharing, open_from: openFrom, embargo_sharing: changes.embargoSharing ?? row.embargo_sharing, licence };
}
