import { createHash, createPrivateKey, createPublicKey, sign, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** The receipt key's file in a data folder, where earlier versions made it: PKCS #8 PEM. */
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

/** PKCS #8 (RFC 8410) of an Ed25519 private key, up to its 32-byte seed. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

const base64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

/**
 * Signs erasure receipts with the gateway's Ed25519 key, made on first use and
 * kept (its seed in the registry), so receipts issued before a restart still verify.
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

  /**
   * The key in `dataDir` when one was made there (`receipt-key.pem`, kept so
   * that receipts it signed still verify); otherwise the key whose 32-byte seed
   * the registry keeps (`registrySeed`), which every node on one registry
   * shares, so a receipt verifies against the key whichever node answers.
   */
  static async open(dataDir: string, registrySeed: () => Promise<Buffer>): Promise<ReceiptSigner> {
    const file = path.join(dataDir, RECEIPT_KEY_FILE);
    if (fs.existsSync(file)) return new ReceiptSigner(createPrivateKey(fs.readFileSync(file)));
    const seed = await registrySeed();
    if (seed.length !== 32) throw new Error(`the registry's receipt key seed has ${seed.length} bytes, not 32`);
    return new ReceiptSigner(createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' }));
  }

  /** The claims as a compact JWS: `base64url(header).base64url(claims).base64url(signature)`. */
  sign(claims: object): string {
    const header = base64url(JSON.stringify({ alg: 'EdDSA', typ: 'testbed-erasure-receipt+jwt', kid: this.publicKey.kid }));
    const payload = base64url(JSON.stringify(claims));
    const signature = sign(null, Buffer.from(`${header}.${payload}`), this.#key);
    return `${header}.${payload}.${base64url(signature)}`;
  }
}
