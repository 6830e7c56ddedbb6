import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { once } from 'node:events';
import { Zip, ZipDeflate } from 'fflate';

/** One file of a bundle as the manifest lists it: its size and SHA-256 (hex) uncompressed, and its data rows. */
export interface ManifestEntry {
  readonly path: string;
  readonly bytes: number;
  readonly rows: number;
  readonly sha256: string;
}

/** A piece of a file: its text and how many data rows it holds. */
export interface Piece {
  readonly text: string;
  readonly rows: number;
}

/**
 * Writes a ZIP file (deflate, via fflate) to disk one member at a time. Each
 * member is pushed piece by piece and compressed as it comes, and the output
 * goes to the file as it is made, waiting whenever the disk is behind: memory
 * holds a piece and the compressor's window, whatever the bundle's size. The
 * bundle's own SHA-256 is taken over the bytes as they are written.
 */
export class BundleWriter {
  readonly #out: fs.WriteStream;
  readonly #zip: Zip;
  readonly #hash = createHash('sha256');
  readonly #mtime: Date;
  readonly #done: Promise<void>;
  #bytes = 0;
  #failed: Error | undefined;

  constructor(file: string, mtime: Date) {
    this.#mtime = mtime;
    this.#out = fs.createWriteStream(file, { mode: 0o600 });
    this.#out.on('error', (err) => (this.#failed ??= err));
    let finished!: () => void;
    this.#done = new Promise((resolve) => (finished = resolve));
    this.#zip = new Zip((err, data, final) => {
      if (err) this.#failed ??= err;
      else {
        this.#hash.update(data);
        this.#bytes += data.length;
        this.#out.write(data);
      }
      if (final || err) finished();
    });
  }

  /** Adds a member from its pieces, in order; answers what the manifest says of it. */
  async add(path: string, pieces: AsyncIterable<Piece> | Iterable<Piece>): Promise<ManifestEntry> {
    const member = new ZipDeflate(path, { level: 6 });
    member.mtime = this.#mtime;
    this.#zip.add(member);
    const hash = createHash('sha256');
    let bytes = 0;
    let rows = 0;
    for await (const piece of pieces) {
      const data = Buffer.from(piece.text, 'utf8');
      hash.update(data);
      bytes += data.length;
      rows += piece.rows;
      member.push(data);
      await this.#drained();
    }
    member.push(new Uint8Array(0), true);
    await this.#drained();
    return { path, bytes, rows, sha256: hash.digest('hex') };
  }

  /** Ends the archive and the file; answers its size and SHA-256 (hex). */
  async finish(): Promise<{ bytes: number; sha256: string }> {
    this.#zip.end();
    await this.#done;
    this.#out.end();
    await once(this.#out, 'close');
    if (this.#failed) throw this.#failed;
    return { bytes: this.#bytes, sha256: this.#hash.digest('hex') };
  }

  /** Stops writing (after a failure); the caller removes the file. */
  abort(): void {
    this.#zip.terminate();
    this.#out.destroy();
  }

  async #drained(): Promise<void> {
    if (this.#failed) throw this.#failed;
    if (this.#out.writableNeedDrain) await once(this.#out, 'drain');
  }
}
