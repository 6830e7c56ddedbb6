import fs from 'node:fs';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { TestbedError } from './errors.js';

/** Where the PEM files are (`TESTBED_TLS_CERT`, `TESTBED_TLS_KEY`, `TESTBED_TLS_CA`). */
export interface TlsFiles {
  readonly cert: string;
  readonly key: string;
  /** When set, clients are asked for a certificate signed by this CA (one without is still let in: devices log in with a password). */
  readonly ca: string | undefined;
}

/** TLS 1.2 is the oldest version offered: 1.0 and 1.1 are deprecated (RFC 8996). */
export const MIN_TLS_VERSION = 'TLSv1.2';

/**
 * The server certificate, read from its PEM files and read again when they
 * change or when `reload()` is called (SIGHUP). Servers built from it take the
 * new context for new handshakes only (`tls.Server.setSecureContext`), so open
 * connections are not dropped.
 */
export class TlsCredentials {
  readonly files: TlsFiles;
  #current: SecureContextOptions;
  readonly #listeners = new Set<(options: SecureContextOptions) => void>();
  #watching = false;

  constructor(files: TlsFiles) {
    this.files = files;
    this.#current = read(files);
  }

  /** The certificate, key and CA as last read. */
  get options(): SecureContextOptions {
    return this.#current;
  }

  /** Calls `listener` with the new options after each successful reload. */
  onChange(listener: (options: SecureContextOptions) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Reads the files again. A half-written or mismatched pair (a renewal in
   * progress) is refused and the previous certificate stays in use; the next
   * change or SIGHUP tries again.
   */
  reload(): { ok: true } | { ok: false; error: Error } {
    try {
      const next = read(this.files);
      this.#current = next;
      for (const listener of this.#listeners) listener(next);
      return { ok: true };
    } catch (err) {
      return { ok: false, error: err as Error };
    }
  }

  /** Reloads when a file's modification time changes (polled: works across renames and bind mounts). */
  watch(onReload: (result: ReturnType<TlsCredentials['reload']>) => void, intervalMs = 2000): void {
    if (this.#watching) return;
    this.#watching = true;
    for (const file of this.#paths()) {
      fs.watchFile(file, { interval: intervalMs, persistent: false }, (now, before) => {
        if (now.mtimeMs !== before.mtimeMs) onReload(this.reload());
      });
    }
  }

  close(): void {
    if (!this.#watching) return;
    for (const file of this.#paths()) fs.unwatchFile(file);
    this.#watching = false;
  }

  #paths(): string[] {
    return [this.files.cert, this.files.key, ...(this.files.ca ? [this.files.ca] : [])];
  }
}

function read(files: TlsFiles): SecureContextOptions {
  const load = (file: string, what: string) => {
    try {
      return fs.readFileSync(file);
    } catch (err) {
      throw new TestbedError('TESTBED_TLS_INVALID', `cannot read the TLS ${what} ${file}: ${(err as Error).message}`);
    }
  };
  const options: SecureContextOptions = {
    cert: load(files.cert, 'certificate'),
    key: load(files.key, 'key'),
    ...(files.ca ? { ca: load(files.ca, 'CA') } : {}),
    minVersion: MIN_TLS_VERSION,
  };
  // Building a context checks that the key matches the certificate and both parse.
  try {
    createSecureContext(options);
  } catch (err) {
    throw new TestbedError('TESTBED_TLS_INVALID', `the TLS certificate or key is invalid: ${(err as Error).message}`);
  }
  return options;
}
