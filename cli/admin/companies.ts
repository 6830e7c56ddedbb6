import { z } from 'zod';
import { companySchema } from '../../core/index.js';
import type { Resource } from './command.js';
import { record, table } from './table.js';

/** `testbed companies create|list`. */
export const companies: Resource = {
  name: 'companies',
  summary: 'Companies: the owners of pilots and devices.',
  examples: ['testbed companies create "Ilmanlaatu Oy"', 'testbed companies list --json'],
  actions: {
    create: {
      summary: 'register a company (admin key)',
      args: ['name'],
      async run({ api, args }) {
        const body = await api.request('POST', '/companies', { name: args[0] });
        const c = companySchema.parse(body);
        return {
          json: body,
          text: record([
            ['id', c.id],
            ['name', c.name],
            ['created', c.createdAt],
          ]),
        };
      },
    },
    list: {
      summary: 'list the companies the key may see',
      async run({ api }) {
        const body = await api.request('GET', '/companies');
        const { companies } = z.object({ companies: z.array(companySchema) }).parse(body);
        return {
          json: body,
          text: table(
            [
              ['ID', (c) => c.id],
              ['NAME', (c) => c.name],
              ['CREATED', (c) => c.createdAt],
            ],
            companies,
          ),
        };
      },
    },
  },
};
