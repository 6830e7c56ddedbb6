import { z } from 'zod';
import { type ApiKey, apiKeySchema } from '../../core/index.js';
import type { Resource } from './command.js';
import { type Column, record, table } from './table.js';

const COLUMNS: readonly Column<ApiKey>[] = [
  ['ID', (k) => k.id],
  ['ROLE', (k) => k.role],
  ['NAME', (k) => k.name],
  ['COMPANY', (k) => k.companyId],
  ['TESTBEDS', (k) => k.testbedIds],
  ['READ-ONLY', (k) => k.readOnly],
  ['SCOPES', (k) => k.scopes],
  ['EXPIRES', (k) => k.expiresAt],
  ['REVOKED', (k) => k.revokedAt],
];

const fields = (k: ApiKey) => COLUMNS.map(([label, value]) => [label.toLowerCase(), value(k)] as const);

/** `testbed keys create|list|revoke`. */
export const keys: Resource = {
  name: 'keys',
  summary: 'API keys: admin, operator (of testbeds), company (of a company) or researcher (shared pilots, read-only).',
  examples: [
    'testbed keys create --role company --company cmp_... --name "Ilmanlaatu integration"',
    'testbed keys create --role operator --testbed helsinki --testbed espoo',
    'testbed keys list',
    'testbed keys revoke key_...',
  ],
  actions: {
    create: {
      summary: 'create an API key; prints the key once',
      options: {
        role: { type: 'string', arg: '<role>', required: true, description: 'admin, operator, company or researcher' },
        company: { type: 'string', arg: '<id>', description: 'the company of a company key' },
        testbed: { type: 'string', arg: '<id>', multiple: true, description: 'a testbed of an operator key (or to limit a researcher key)' },
        name: { type: 'string', arg: '<name>', description: 'what it is for' },
        expires: { type: 'string', arg: '<iso-time>', description: 'when it stops working, ISO 8601 with a zone (default: never)' },
        'read-only': { type: 'boolean', description: 'may call no route that changes anything' },
        scope: { type: 'string', arg: '<scope>', multiple: true, description: 'a permission beside the role: metrics (reads GET /metrics)' },
      },
      async run({ api, options: o }) {
        const body = await api.request('POST', '/keys', {
          role: o.role,
          companyId: o.company,
          testbedIds: o.testbed,
          name: o.name,
          expiresAt: o.expires,
          readOnly: o['read-only'],
          scopes: o.scope,
        });
        const k = apiKeySchema.extend({ key: z.string() }).parse(body);
        return { json: body, text: record([['key', k.key], ...fields(k)]) + 'The key is shown only now: keep it somewhere safe.\n' };
      },
    },
    list: {
      summary: 'list the keys this key may manage (never their secrets)',
      async run({ api }) {
        const body = await api.request('GET', '/keys');
        const { keys: list } = z.object({ keys: z.array(apiKeySchema) }).parse(body);
        return { json: body, text: table(COLUMNS, list) };
      },
    },
    revoke: {
      summary: 'revoke a key: from now on it answers 401',
      args: ['keyId'],
      async run({ api, args }) {
        const body = await api.request('DELETE', `/keys/${encodeURIComponent(args[0]!)}`);
        return { json: body, text: record(fields(apiKeySchema.parse(body))) };
      },
    },
  },
};
