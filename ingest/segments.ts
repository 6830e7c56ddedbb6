import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from 'node:zlib';

/**
 * The journal's files: segment naming, frame layout and crash recovery.
 * A frame is `[u32 length][u32 crc32(body)][body]`, little-endian.
 */
export const HEADER = 8;
export const SEGMENT_NAME = /^([0-9a-f]{16})\.seg$/;

/** A segment file is named by the LSN of its first byte, in hex. */
export const segmentFile = (dir: string, start: number): string => path.join(dir, `${start.toString(16).padStart(16, '0')}.seg`);

/** The length of the valid prefix of a segment file: whole frames with good checksums. */
export async function validLength(file: string): Promise<number> {
  const data = await fsp.readFile(file);
  let offset = 0;
  while (offset + HEADER <= data.length) {
    const size = data.readUInt32LE(offset);
    const end = offset + HEADER + size;
    if (end > data.length) break;
    if (crc32(data.subarray(offset + HEADER, end)) !== data.readUInt32LE(offset + 4)) break;
    offset = end;
  }
  return offset;
}

/** Makes a new file's directory entry durable (POSIX: fsync the directory). */
export async function syncDir(dir: string): Promise<void> {
  const handle = await fsp.open(dir, fs.constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** How many segment files in `dir` hold `text` as UTF-8 bytes anywhere in them, frames or not. */
export async function segmentsHolding(dir: string, text: string): Promise<number> {
  const needle = Buffer.from(text, 'utf8');
  let found = 0;
  for (const name of await fsp.readdir(dir)) {
    if (!SEGMENT_NAME.test(name)) continue;
    // A segment released meanwhile holds nothing any more.
    const bytes = await fsp.readFile(path.join(dir, name)).catch(() => Buffer.alloc(0));
    if (bytes.includes(needle)) found++;
  }
  return found;
}
