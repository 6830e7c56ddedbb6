import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** The receipt key's file in the data folder: PKCS #8 PEM, readable by the owner only. */
export const RECEIPT_KEY_FILE = 'receipt-key.pem';

/** The public half of the receipt key as a JWK (RFC 8037: `kty: OKP`, `crv: Ed25519`), with its RFC 7638 thumbprint as `kid`. */
export interface ReceiptPublicKey {
  readonly kty: 'OKP';
  readonly crv: 'Ed25519';
  readonly x: string;
  readonly kid: string;
  readonly alg: 'EdDSA';
  readonly use: 'sig';
}

const base64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

/**
 * Signs erasure receipts with the gateway's Ed25519 key, made on first use and
 * kept in the data folder, so receipts issued before a restart still verify.
 * A receipt is a JWS in compact serialisation (RFC 7515) with `alg: EdDSA`
 * (RFC 8037): anyone holding the public key verifies it with a standard JOSE
 * library, `crypto.verify` in Node, or `openssl pkeyutl -verify -rawin`.
 */
export class ReceiptSigner {
  readonly #key: KeyObject;
  readonly publicKey: ReceiptPublicKey;

  private constructor(key: KeyObject) {
    this.#key = key;
    const { x } = createPublicKey(key).export({ format: 'jwk' }) as { x: string };
    // RFC 7638: the thumbprint hashes the required members in lexicographic order, without spaces.
    const kid = base64url(createHash('sha256').update(`{"crv":"Ed25519","kty":"OKP","x":"${x}"}`).digest());
    this.publicKey = { kty: 'OKP', crv: 'Ed25519', x, kid, alg: 'EdDSA', use: 'sig' };
  }

  /** Reads the key from `dataDir`, or makes one and writes it there (mode 0600) first. */
  static open(dataDir: string): ReceiptSigner {
    const file = path.join(dataDir, RECEIPT_KEY_FILE);
    if (!fs.existsSync(file)) {
      fs.mkdirSync(dataDir, { recursive: true });
      const { privateKey } = generateKeyPairSync('ed25519');
      // 'wx': two processes starting at once cannot both write one; the loser reads the winner's.
      try {
        fs.writeFileSync(file, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: 'wx' });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
    return new ReceiptSigner(createPrivateKey(fs.readFileSync(file)));
  }

  /** The claims as a compact JWS: `base64url(header).base64url(claims).base64url(signature)`. */
  sign(claims: object): string {
    const header = base64url(JSON.stringify({ alg: 'EdDSA', typ: 'testbed-erasure-receipt+jwt', kid: this.publicKey.kid }));
    const payload = base64url(JSON.stringify(claims));
    const signature = sign(null, Buffer.from(`${header}.${payload}`), this.#key);
    return `${header}.${payload}.${base64url(signature)}`;
  }
}
