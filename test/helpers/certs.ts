import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface TestCert {
  readonly cert: string;
  readonly key: string;
  /** The certificate's PEM text, for a client's `ca`. */
  readonly pem: string;
}

/** A throwaway self-signed certificate for 127.0.0.1 and localhost, made with openssl in `dir`. */
export function selfSignedCert(dir: string, name = 'server', commonName = 'localhost'): TestCert {
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      `/CN=${commonName}`,
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    { stdio: 'ignore' },
  );
  return { cert, key, pem: fs.readFileSync(cert, 'utf8') };
}

/** A throwaway certificate authority (its certificate and key) made with openssl in `dir`. */
export function certificateAuthority(dir: string, name: string): TestCert {
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', `/CN=${name}`],
    { stdio: 'ignore' },
  );
  return { cert, key, pem: fs.readFileSync(cert, 'utf8') };
}

/** A client certificate for `commonName`, signed by `ca`. */
export function clientCert(dir: string, ca: TestCert, commonName: string): { cert: string; key: string } {
  const base = path.join(dir, commonName);
  execFileSync(
    'openssl',
    [
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      `${base}.key`,
      '-out',
      `${base}.csr`,
      '-subj',
      `/CN=${commonName}`,
    ],
    {
      stdio: 'ignore',
    },
  );
  execFileSync('openssl', ['x509', '-req', '-in', `${base}.csr`, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-out', `${base}.crt`, '-days', '1'], {
    stdio: 'ignore',
  });
  return { cert: fs.readFileSync(`${base}.crt`, 'utf8'), key: fs.readFileSync(`${base}.key`, 'utf8') };
}
