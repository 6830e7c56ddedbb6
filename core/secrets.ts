import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Identifiers and secrets. Secrets are 160 random bits, shown once and stored
 * only as SHA-256 digests. A fast hash is the right one here: a random secret
 * of that length cannot be guessed, so a slow KDF would only make ten thousand
 * devices reconnecting after a restart cost minutes of CPU.
 */
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

function base32(bytes: Buffer): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

/** A random id with a readable prefix, e.g. `dev_k3j9...` (80 random bits). */
export function newId(prefix: string): string {
  return `${prefix}_${base32(randomBytes(10))}`;
}

/** A random secret of 160 bits, base32, with an optional prefix. */
export function newSecret(prefix = ''): string {
  return prefix + base32(randomBytes(20));
}

export function hashSecret(secret: string | Buffer): Buffer {
  return createHash('sha256').update(secret).digest();
}

/** Compares a presented secret with a stored digest in constant time. */
export function verifySecret(presented: string | Buffer, digest: Buffer): boolean {
  const candidate = hashSecret(presented);
  return candidate.length === digest.length && timingSafeEqual(candidate, digest);
}
