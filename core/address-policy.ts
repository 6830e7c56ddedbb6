import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/**
 * Addresses an outgoing request (a webhook delivery) may not reach, against
 * server-side request forgery: loopback, private, link-local, shared, unique
 * local, multicast and reserved ranges (RFC 6890's special-purpose registries).
 */
const BLOCKED = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  BLOCKED.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  BLOCKED.addSubnet(net, bits, 'ipv6');

/** The IPv4 address inside an IPv4-mapped IPv6 one (`::ffff:10.0.0.1`), else the address itself. */
const unmapped = (address: string) => /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1] ?? address;

/** Whether an IP address is one an outgoing request may not reach. */
export function isBlockedAddress(address: string): boolean {
  const plain = unmapped(address.replace(/^\[|\]$/g, ''));
  const family = isIP(plain);
  if (family === 0) return true;
  return BLOCKED.check(plain, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * Which webhook URLs are allowed: http or https, to a public address, unless
 * the host is on the allow-list (`TESTBED_WEBHOOK_ALLOWED_HOSTS`).
 */
export class WebhookUrlPolicy {
  readonly #allowed: ReadonlySet<string>;

  constructor(allowedHosts: readonly string[]) {
    this.#allowed = new Set(allowedHosts.map((h) => h.toLowerCase()));
  }

  /** Whether the host (a name or a literal, without brackets) is on the allow-list. */
  allows(host: string): boolean {
    return this.#allowed.has(host.toLowerCase().replace(/^\[|\]$/g, ''));
  }

  /** Why `address`, which `host` resolved to, may not be reached; undefined when it may. */
  refuseAddress(host: string, address: string): string | undefined {
    if (this.allows(host) || !isBlockedAddress(address)) return undefined;
    return `${host} is ${address}, a loopback, private, link-local or reserved address (allow it with TESTBED_WEBHOOK_ALLOWED_HOSTS)`;
  }

  /** Why a URL may not be a webhook's: its scheme, its literal host, or what its name resolves to now. */
  async refuse(raw: string): Promise<string | undefined> {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return 'not a URL';
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'only http and https URLs may be webhooks';
    if (url.username !== '' || url.password !== '') return 'a webhook URL may not carry a user name or password';
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (this.allows(host)) return undefined;
    if (isIP(host) !== 0) return this.refuseAddress(host, host);
    let addresses: { address: string }[];
    try {
      addresses = await lookup(host, { all: true });
    } catch {
      // A name that does not resolve now may later: each delivery checks what it resolves to then.
      return undefined;
    }
    for (const { address } of addresses) {
      const refused = this.refuseAddress(host, address);
      if (refused) return refused;
    }
    return undefined;
  }
}
