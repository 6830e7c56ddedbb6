import { describe, expect, it } from 'vitest';
import { appended, DuplicateFilter, whenAppended } from '../ingest/dedupe.js';

describe('duplicate filter', () => {
  it('takes a repeated identifier and payload for a resend with DUP, or on another connection, never on the same one without DUP', () => {
    const f = new DuplicateFilter();
    f.remember('d', 7, 111, 1, 1000);
    expect(f.original('d', 7, 111, 1, true)).toBeDefined();
    expect(f.original('d', 7, 111, 2, false)).toBeDefined();
    expect(f.original('d', 7, 111, 1, false)).toBeUndefined();
    expect(f.original('d', 7, 222, 2, true)).toBeUndefined();
    expect(f.original('d', 8, 111, 2, true)).toBeUndefined();
    expect(f.original('other', 7, 111, 2, true)).toBeUndefined();
  });

  it('keeps the newest message of a reused identifier', () => {
    const f = new DuplicateFilter();
    f.remember('d', 7, 111, 1, 1000);
    f.remember('d', 7, 222, 1, 1001);
    expect(f.original('d', 7, 111, 2, true)).toBeUndefined();
    expect(f.original('d', 7, 222, 2, true)).toBeDefined();
  });

  it('keeps at most perDevice messages of a device, the newest, growing its room as it sends more', () => {
    const f = new DuplicateFilter({ perDevice: 40 });
    for (let id = 1; id <= 100; id++) f.remember('d', id, id * 3, 1, 1000 + id);
    for (let id = 1; id <= 60; id++) expect(f.original('d', id, id * 3, 2, true)).toBeUndefined();
    for (let id = 61; id <= 100; id++) expect(f.original('d', id, id * 3, 2, true)).toBeDefined();
    // A reused identifier among them, then more: its older message goes in turn, its newer stays.
    f.remember('d', 70, 5, 1, 2000);
    for (let id = 101; id <= 115; id++) f.remember('d', id, id * 3, 1, 2000 + id);
    expect(f.original('d', 70, 5, 2, true)).toBeDefined();
    expect(f.original('d', 70, 210, 2, true)).toBeUndefined();
    expect(f.original('d', 75, 225, 2, true)).toBeUndefined();
    expect(f.original('d', 77, 231, 2, true)).toBeDefined();
  });

  it('keeps every message when its room grows after older ones expired (the ring wrapped)', () => {
    const f = new DuplicateFilter({ perDevice: 64, windowMs: 100 });
    for (let id = 1; id <= 10; id++) f.remember('d', id, id, 1, 0);
    for (let id = 11; id <= 16; id++) f.remember('d', id, id, 1, 200);
    for (let id = 17; id <= 40; id++) f.remember('d', id, id, 1, 250);
    for (let id = 1; id <= 10; id++) expect(f.original('d', id, id, 2, true)).toBeUndefined();
    for (let id = 11; id <= 40; id++) expect(f.original('d', id, id, 2, true)).toBeDefined();
    // Oldest first still: at 320 those of 200 expire, those of 250 stay.
    f.remember('d', 41, 41, 1, 320);
    for (let id = 11; id <= 16; id++) expect(f.original('d', id, id, 2, true)).toBeUndefined();
    for (let id = 17; id <= 41; id++) expect(f.original('d', id, id, 2, true)).toBeDefined();
  });

  it('forgets what is older than the window, when a message comes and when swept', () => {
    const f = new DuplicateFilter({ windowMs: 1000 });
    f.remember('d', 1, 1, 1, 0);
    f.remember('d', 2, 2, 1, 600);
    f.remember('d', 3, 3, 1, 1200);
    expect(f.original('d', 1, 1, 2, true)).toBeUndefined();
    expect(f.original('d', 2, 2, 2, true)).toBeDefined();
    f.sweep(2100);
    expect(f.original('d', 2, 2, 2, true)).toBeUndefined();
    expect(f.original('d', 3, 3, 2, true)).toBeDefined();
    f.sweep(5000);
    expect(f.original('d', 3, 3, 2, true)).toBeUndefined();
    f.remember('d', 4, 4, 1, 5000);
    f.forgetDevice('d');
    expect(f.original('d', 4, 4, 2, true)).toBeUndefined();
  });

  it('gives a resend its original journal end at once once appended, else when it is appended', () => {
    const f = new DuplicateFilter();
    const first = f.remember('d', 1, 1, 1, 0);
    const ends: number[] = [];
    whenAppended(f.original('d', 1, 1, 2, true)!, (end) => ends.push(end));
    whenAppended(f.original('d', 1, 1, 3, true)!, (end) => ends.push(end + 1));
    expect(ends).toEqual([]);
    appended(first, 500);
    expect(ends).toEqual([500, 501]);
    whenAppended(f.original('d', 1, 1, 4, true)!, (end) => ends.push(end + 2));
    expect(ends).toEqual([500, 501, 502]);
    // Read back from the journal after a restart: appended already.
    f.remember('r', 9, 9, 0, 0, 900);
    whenAppended(f.original('r', 9, 9, 5, false)!, (end) => ends.push(end));
    expect(ends.at(-1)).toBe(900);
  });

  it('wakes the resends of an original whose room was taken before it was appended, and leaves the newer message alone', () => {
    const f = new DuplicateFilter({ perDevice: 2 });
    const first = f.remember('d', 1, 1, 1, 0);
    const ends: number[] = [];
    whenAppended(f.original('d', 1, 1, 2, true)!, (end) => ends.push(end));
    f.remember('d', 2, 2, 1, 1);
    const third = f.remember('d', 3, 3, 1, 2); // takes the first one's slot
    appended(first, 100);
    expect(ends).toEqual([100]);
    // The slot's new message is not appended by its predecessor's end.
    whenAppended(f.original('d', 3, 3, 2, true)!, (end) => ends.push(end));
    expect(ends).toEqual([100]);
    appended(third, 300);
    expect(ends).toEqual([100, 300]);
  });
});
