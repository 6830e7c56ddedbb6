import { z } from 'zod';
import { component } from './components.js';

const count = z.number().int().nonnegative();

const node = z.object({
  id: z.string().meta({ description: 'TESTBED_NODE_ID: which gateway process answered', example: 'gw-1' }),
  startedAt: z.iso
    .datetime()
    .optional()
    .meta({ description: 'When that process started (known for the node that answers)', example: '2026-05-01T08:00:00.000Z' }),
  connections: count.optional().meta({ description: 'Devices connected to that node, as its last heartbeat said (nodes on Redis)' }),
});

/**
 * `GET /v1/health`. The status rule is the ingest stage's (ingest/health.ts);
 * the route adds the gateway's connections. Only `status` is there without
 * an admin or operator key (and `node`, which is not secret), or when the API runs
 * without the pipeline around it.
 */
export const healthResponseSchema = component(
  'Health',
  z.object({
    status: z.enum(['ok', 'degraded', 'failing']).meta({
      description:
        'failing: readings are not being acknowledged (the queue on disk failed or is full, or the data folder is below TESTBED_DISK_MIN_FREE_MB); degraded: acknowledged, but the store is not taking them and they wait in the queue; ok otherwise',
      example: 'ok',
    }),
    node: node.optional().meta({ description: 'The node that answered, for every caller (behind a load balancer each request may reach another)' }),
    cluster: z
      .object({
        nodes: z.array(node).meta({ description: 'The nodes this node knows to be up, itself included' }),
        coordination: z
          .enum(['none', 'redis'])
          .meta({ description: 'none: nodes share nothing but the registry and the reading store; redis: TESTBED_REDIS_URL' }),
        registry: z.enum(['sqlite', 'postgres']).meta({
          description:
            'sqlite: the embedded registry, a file the nodes of one machine may share (TESTBED_REGISTRY_FILE); postgres: TESTBED_DATABASE_URL, shared by every node',
        }),
      })
      .optional(),
    gateway: z.object({ connectedDevices: count.meta({ description: 'MQTT connections open now' }) }).optional(),
    ingest: z
      .object({
        readings: count.meta({ description: 'Readings accepted since start' }),
        rejections: count.meta({ description: 'Readings rejected since start' }),
        rejectionsNotStored: count.meta({
          description: 'Rejections beyond the bounds (10 records a message, TESTBED_REJECTIONS_PER_DEVICE_PER_MINUTE a device): counted, not stored',
        }),
        duplicates: count.meta({ description: 'QoS 1 messages recognised as sent again' }),
        stored: count.meta({ description: 'Readings written to the store' }),
        refused: count.meta({ description: 'Acknowledged readings the store refused, now rejections' }),
      })
      .optional(),
    queue: z
      .object({
        depthBytes: count.meta({ description: 'Bytes on disk not yet delivered to the store' }),
        maxBytes: count,
        full: z.boolean().meta({ description: 'Acknowledgements wait for room while true' }),
        oldestAgeMs: count.nullable().meta({ description: 'Age of the oldest undelivered message; null when none waits' }),
        failed: z.string().nullable().meta({ description: 'Why the queue on disk failed, if it did' }),
      })
      .optional(),
    store: z
      .object({
        kind: z.string().meta({ example: 'embedded' }),
        reachable: z.boolean(),
        consecutiveFailures: count,
        lastError: z.string().nullable(),
      })
      .optional(),
    disk: z
      .object({
        freeBytes: count.nullable().meta({ description: 'Free space of the data folder; null when it cannot be read' }),
        minFreeBytes: count.meta({ description: 'TESTBED_DISK_MIN_FREE_MB in bytes' }),
        low: z.boolean().meta({ description: 'Readings are refused while true' }),
      })
      .optional(),
  }),
  'Whether the pipeline is up; with an admin or operator key, its counters',
);
export type HealthResponse = z.infer<typeof healthResponseSchema>;
