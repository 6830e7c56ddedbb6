import { z } from 'zod';
import { deviceSchema } from '../../core/index.js';
import type { Resource } from './command.js';
import { record, table } from './table.js';

/** A device with the MQTT credentials it was just given (registration and rotation). */
const withCredentials = deviceSchema.extend({ mqtt: z.object({ username: z.string(), password: z.string(), topic: z.string() }).loose() });

const listed = deviceSchema.extend({ connection: z.object({ online: z.boolean(), lastSeen: z.string().nullable() }).optional() });

const credentials = (body: unknown) => {
  const d = withCredentials.parse(body);
  const mqtt = d.mqtt as typeof d.mqtt & { url?: unknown };
  return {
    json: body,
    text:
      record([
        ['id', d.id],
        ['name', d.name],
        ['pilot', d.pilotId],
        ['company', d.companyId],
        ['profile', d.profile],
        ['mqtt username', mqtt.username],
        ['mqtt password', mqtt.password],
        ['mqtt topic', mqtt.topic],
        ...(typeof mqtt.url === 'string' ? [['mqtt url', mqtt.url] as const] : []),
      ]) + 'The password is shown only now: give it to the device (testbed devices rotate makes a new one).\n',
  };
};

/** `testbed devices add|list|rotate|revoke`. */
export const devices: Resource = {
  name: 'devices',
  summary: 'Devices: sensors in a pilot, each with its own MQTT credentials.',
  examples: [
    'testbed devices add --pilot plt_... --profile air-quality --name "Lamp post 1"',
    'testbed devices list --pilot plt_...',
    'testbed devices rotate dev_...',
    'testbed devices revoke dev_...',
  ],
  actions: {
    add: {
      summary: 'register a device in a pilot; prints its MQTT password once',
      options: {
        pilot: { type: 'string', arg: '<id>', required: true, description: 'the pilot' },
        profile: { type: 'string', arg: '<id>', required: true, description: 'its device profile (GET /v1/profiles lists them)' },
        name: { type: 'string', arg: '<name>', description: 'its name' },
        username: { type: 'string', arg: '<name>', description: 'its MQTT username (default: its id)' },
      },
      async run({ api, options: o }) {
        const body = { profile: o.profile, name: o.name, username: o.username };
        return credentials(await api.request('POST', `/pilots/${encodeURIComponent(o.pilot as string)}/devices`, body));
      },
    },
    list: {
      summary: "list a pilot's devices with their connection status",
      options: { pilot: { type: 'string', arg: '<id>', required: true, description: 'the pilot' } },
      async run({ api, options: o }) {
        const body = await api.request('GET', `/pilots/${encodeURIComponent(o.pilot as string)}/devices`);
        const { devices: list } = z.object({ devices: z.array(listed) }).parse(body);
        return {
          json: body,
          text: table(
            [
              ['ID', (d) => d.id],
              ['NAME', (d) => d.name],
              ['PROFILE', (d) => d.profile],
              ['USERNAME', (d) => d.username],
              ['ONLINE', (d) => d.connection?.online],
              ['LAST SEEN', (d) => d.connection?.lastSeen],
              ['REVOKED', (d) => d.revokedAt],
            ],
            list,
          ),
        };
      },
    },
    rotate: {
      summary: 'give a device a new MQTT password (printed once); the old one stops working',
      args: ['deviceId'],
      async run({ api, args }) {
        return credentials(await api.request('POST', `/devices/${encodeURIComponent(args[0]!)}/rotate-secret`));
      },
    },
    revoke: {
      summary: 'revoke a device: it is disconnected and may never connect again',
      args: ['deviceId'],
      async run({ api, args }) {
        const body = await api.request('POST', `/devices/${encodeURIComponent(args[0]!)}/revoke`);
        const d = deviceSchema.parse(body);
        return {
          json: body,
          text: record([
            ['id', d.id],
            ['name', d.name],
            ['pilot', d.pilotId],
            ['revoked', d.revokedAt],
          ]),
        };
      },
    },
  },
};
