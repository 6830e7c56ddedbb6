import { z } from 'zod';
import { type Pilot, pilotSchema } from '../../core/index.js';
import type { Resource } from './command.js';
import { type Column, record, table } from './table.js';

const COLUMNS: readonly Column<Pilot>[] = [
  ['ID', (p) => p.id],
  ['NAME', (p) => p.name],
  ['COMPANY', (p) => p.companyId],
  ['TESTBED', (p) => p.testbedId],
  ['STARTS', (p) => p.startsAt],
  ['ENDS', (p) => p.endsAt],
  ['ENDED', (p) => p.endedAt],
  ['SHARING', (p) => p.sharing],
];

const one = (body: unknown) => {
  const p = pilotSchema.parse(body);
  return { json: body, text: record(COLUMNS.map(([label, value]) => [label.toLowerCase(), value(p)] as const)) };
};

/** `testbed pilots create|list|end`. */
export const pilots: Resource = {
  name: 'pilots',
  summary: "Pilots: a company's trial in a testbed, with the dates its devices may send between.",
  examples: [
    'testbed pilots create --company cmp_... --testbed helsinki --name "Kalasatama street air" --ends 2026-12-31T23:59:59Z',
    'testbed pilots list --testbed helsinki',
    'testbed pilots end plt_...',
  ],
  actions: {
    create: {
      summary: 'start a pilot of a company in a testbed (admin or operator key)',
      options: {
        company: { type: 'string', arg: '<id>', required: true, description: 'the company running it' },
        testbed: { type: 'string', arg: '<id>', required: true, description: 'the testbed (helsinki, espoo, vantaa, tampere, turku, oulu)' },
        name: { type: 'string', arg: '<name>', required: true, description: 'its name' },
        starts: { type: 'string', arg: '<iso-time>', description: 'when it starts, ISO 8601 with a zone (default: open)' },
        ends: { type: 'string', arg: '<iso-time>', description: 'when it ends, ISO 8601 with a zone (default: open)' },
        sharing: { type: 'string', arg: '<s>', description: 'private (default), research or open' },
      },
      async run({ api, options: o }) {
        const body = { companyId: o.company, testbedId: o.testbed, name: o.name, startsAt: o.starts, endsAt: o.ends, sharing: o.sharing };
        return one(await api.request('POST', '/pilots', body));
      },
    },
    list: {
      summary: 'list the pilots the key may see',
      options: {
        testbed: { type: 'string', arg: '<id>', description: 'only pilots in this testbed' },
        company: { type: 'string', arg: '<id>', description: 'only pilots of this company' },
      },
      async run({ api, options: o }) {
        const query = new URLSearchParams();
        if (typeof o.testbed === 'string') query.set('testbedId', o.testbed);
        if (typeof o.company === 'string') query.set('companyId', o.company);
        const body = await api.request('GET', `/pilots${query.size > 0 ? `?${query.toString()}` : ''}`);
        const { pilots: list } = z.object({ pilots: z.array(pilotSchema) }).parse(body);
        return { json: body, text: table(COLUMNS, list) };
      },
    },
    end: {
      summary: 'end a pilot now: its devices are disconnected and may not connect again',
      args: ['pilotId'],
      async run({ api, args }) {
        return one(await api.request('POST', `/pilots/${encodeURIComponent(args[0]!)}/end`));
      },
    },
  },
};
