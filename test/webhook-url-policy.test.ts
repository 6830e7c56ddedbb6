import { describe, expect, it } from 'vitest';
import { WebhookUrlPolicy } from '../core/address-policy.js';

/** Server-side request forgery: which webhook URLs the policy refuses, with and without the allow-list. */
describe('webhook URL policy', () => {
  const PRIVATE = [
    'http://127.0.0.1:9000/hook',
    'http://127.1.2.3/',
    'http://10.0.0.8/',
    'http://172.16.4.4/',
    'http://192.168.1.10/',
    'http://169.254.169.254/latest/meta-data',
    'http://100.64.0.1/',
    'http://0.0.0.0/',
    'http://[::1]/',
    'http://[fe80::1]/',
    'http://[fd00::2]/',
    'http://[::ffff:127.0.0.1]/',
    'http://localhost:9000/',
  ];

  it('refuses loopback, private, link-local, shared and reserved addresses without the allow-list', async () => {
    const policy = new WebhookUrlPolicy([]);
    for (const url of PRIVATE) expect(await policy.refuse(url), url).toMatch(/loopback, private, link-local or reserved|TESTBED_WEBHOOK_ALLOWED_HOSTS/);
    expect(await policy.refuse('http://93.184.215.14/hook')).toBeUndefined();
    expect(await policy.refuse('ftp://93.184.215.14/')).toMatch(/http and https/);
    expect(await policy.refuse('http://user:pw@93.184.215.14/')).toMatch(/user name or password/);
  });

  it('allows exactly the hosts on the allow-list', async () => {
    const policy = new WebhookUrlPolicy(['127.0.0.1']);
    expect(await policy.refuse('http://127.0.0.1:9000/hook')).toBeUndefined();
    expect(await policy.refuse('http://127.0.0.2/')).toBeDefined();
    expect(await policy.refuse('http://10.0.0.8/')).toBeDefined();
    expect(policy.refuseAddress('localhost', '127.0.0.1')).toBeDefined();
  });
});
