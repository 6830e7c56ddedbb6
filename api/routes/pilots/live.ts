import { PassThrough } from 'node:stream';
import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { TestbedError, isoTime, scopeAdmits, type TestbedEvent } from '../../../core/index.js';
import type { Reading } from '../../../store/index.js';
import { OPEN_DATA } from '../../access.js';
import type { RouteOptions } from '../../deps.js';
import { visiblePilot } from '../../lookups.js';
import { termsOf, termsFields } from '../../open-data.js';
import { clientBucket } from '../../rate-limit.js';
import { callerOf } from '../../plugins/auth.js';
import { flagOf, inOrder } from '../../queries/export.js';
import { pilotParamsSchema } from '../../schemas/pilots.js';
import { errorResponses } from '../../schemas/responses.js';

const event = (name: string, payload: unknown): string => `event: ${name}\ndata: ${JSON.stringify(payload)}\n\n`;
/** A reading as the readings route answers it: the quality flags only when raised. */
const readingEvent = (r: Reading): string =>
  `data: ${JSON.stringify({ deviceId: r.deviceId, time: isoTime(r.time), values: inOrder(r.values), ...flagOf(r) })}\n\n`;

/**
 * Whether an alert event belongs on a pilot's stream for this scope: it is
 * about the pilot (its rule's pilot, or a device of it), and its rule is one
 * the key sees (an operator's testbed rule is not shown to a company).
 */
const alertFor = (e: TestbedEvent, pilotId: string, scope: Parameters<typeof scopeAdmits>[0]): boolean =>
  (e.type === 'alert.opened' || e.type === 'alert.resolved') &&
  e.pilotId === pilotId &&
  scopeAdmits(scope, { companyId: e.companyId ?? '', testbedId: e.testbedId, pilotId: (e.data.alert as { pilotId: string | null }).pilotId ?? '' });

/** Who sees a device's commands (as on /v1/devices/{deviceId}/commands): the managers, not readers of open data. */
const COMMAND_READERS: ReadonlySet<string> = new Set(['admin', 'operator', 'company']);

/** Whether a command status change belongs on a pilot's stream for this caller: a device of the pilot, which the caller manages. */
const commandFor = (e: TestbedEvent, pilotId: string, caller: { role: string; scope: Parameters<typeof scopeAdmits>[0] }): boolean =>
  e.type.startsWith('command.') &&
  e.pilotId === pilotId &&
  COMMAND_READERS.has(caller.role) &&
  scopeAdmits(caller.scope, { companyId: e.companyId ?? '', testbedId: e.testbedId, pilotId });

const DESCRIPTION =
  'Server-Sent Events (text/event-stream): each reading of the pilot as it is stored, as a message event with data ' +
  '`{ "deviceId", "time", "values", "suspect"?, "stuck"?, "gap"? }` (the quality flags, each only when raised, as on /readings). A client that reads too slowly loses the oldest waiting readings rather than holding up ' +
  'ingest; an `event: dropped` with `{ "dropped": n }` says how many (read them back from /readings). A comment every heartbeat ' +
  'keeps idle connections open; then the key and the pilot are checked again, and a stream whose key was revoked or expired, or ' +
  'whose pilot is no longer visible to it, ends with an `event: end` naming why. Alerts about the pilot that the key sees ' +
  'come as `event: alert` with `{ "type": "alert.opened" | "alert.resolved", "alert": {...} }`. For admin, operator and company ' +
  'keys, a command to a device of the pilot changing status comes as `event: command` with `{ "type": "command.queued" | ' +
  '"command.delivered" | "command.succeeded" | "command.failed" | "command.expired", "deviceId", "commandId", "name", "status", "error"? }`. ' +
  'The stream of an open pilot opens with `event: licence` and `{ "licence", "licenceUrl"?, "attribution", "citation" }`, the terms of ' +
  'the data that follows.';

/** `GET /v1/pilots/{pilotId}/live`: the pilot's readings as they are stored, scoped like every read. */
export const pilotLiveRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps, limits }) => {
  const open = new Map<string, number>();
  /** Every stream open now, ended when the server stops so that stopping does not wait on them. */
  const streams = new Set<(code: 'TESTBED_SHUTTING_DOWN', message: string) => void>();
  app.addHook('preClose', (done) => {
    for (const end of streams) end('TESTBED_SHUTTING_DOWN', 'The server is stopping; reconnect shortly');
    done();
  });
  const release = (keyId: string) => {
    const n = (open.get(keyId) ?? 1) - 1;
    if (n > 0) open.set(keyId, n);
    else open.delete(keyId);
  };

  app.get(
    '/pilots/:pilotId/live',
    {
      config: OPEN_DATA,
      schema: {
        tags: ['readings'],
        summary: "Stream a pilot's readings as they are stored (Server-Sent Events)",
        description: `${DESCRIPTION} At most ${limits.maxLiveStreamsPerKey} streams per key and ${limits.maxLiveStreamsPerCompany} per company at once (one more is 429).`,
        params: pilotParamsSchema,
        response: { 200: { description: 'An event stream', content: { 'text/event-stream': { schema: z.string() } } }, ...errorResponses },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      const pilot = await visiblePilot(request, deps.registry, request.params.pilotId);
      const live = deps.live;
      if (!live) throw new TestbedError('TESTBED_STORE_UNAVAILABLE', 'Live readings are not available on this server; read /readings instead');
      // Anonymous callers share one key id; their streams are counted per client address instead.
      const holder = caller.role === 'anonymous' ? `${caller.keyId}@${clientBucket(request.ip)}` : caller.keyId;
      // A company's keys share one cap as well, so that one tenant's many keys cannot take every stream.
      const company = caller.grant.companyId === null ? undefined : `company:${caller.grant.companyId}`;
      const full =
        (open.get(holder) ?? 0) >= limits.maxLiveStreamsPerKey
          ? `This key (or address, without a key) has ${limits.maxLiveStreamsPerKey} live streams open, the most it may; close one first`
          : company !== undefined && (open.get(company) ?? 0) >= limits.maxLiveStreamsPerCompany
            ? `This company's keys have ${limits.maxLiveStreamsPerCompany} live streams open, the most they may; close one first`
            : undefined;
      if (full) throw new TestbedError('TESTBED_RATE_LIMITED', full, { retryAfterSeconds: Math.ceil(limits.liveHeartbeatMs / 1000) });
      for (const counted of [holder, company]) if (counted !== undefined) open.set(counted, (open.get(counted) ?? 0) + 1);

      const stream = new PassThrough();
      let backedUp = false;
      const write = (text: string) => {
        if (stream.write(text) || backedUp) return;
        // The client is not keeping up: take no more from the feed until it drains; the feed drops the oldest meanwhile.
        backedUp = true;
        stream.once('drain', () => {
          backedUp = false;
          pump();
        });
      };
      const pump = () => {
        if (backedUp || stream.destroyed || stream.writableEnded) return;
        const { readings, dropped } = subscription.take();
        if (dropped > 0)
          write(
            event('dropped', {
              dropped,
              message: `${dropped} readings were not sent because this client fell behind; read them from /v1/pilots/${pilot.id}/readings`,
            }),
          );
        if (readings.length > 0) write(readings.map(readingEvent).join(''));
      };
      const subscription = live.subscribe({ scope: caller.scope, pilotId: pilot.id }, pump, { bufferSize: limits.liveBufferSize });
      const offAlerts = deps.events?.on((e) => {
        if (alertFor(e, pilot.id, caller.scope)) write(event('alert', { type: e.type, alert: e.data.alert }));
        else if (commandFor(e, pilot.id, caller)) write(event('command', { type: e.type, deviceId: e.deviceId, ...e.data }));
      });
      const end = (code: string, message: string) => {
        stream.end(event('end', { code, message }));
      };
      streams.add(end);
      // A client that goes away ends its stream at once, not at the next heartbeat.
      request.raw.once('close', () => stream.destroy());
      // The key and the pilot are checked again at each beat; a registry that does not answer skips a beat, it does not end the stream.
      const beat = async () => {
        const now = await deps.registry.recheckKey(caller.keyId);
        if (!now) return end('TESTBED_UNAUTHORIZED', 'The API key was revoked or has expired');
        if (!(await deps.registry.getPilot(now.scope, pilot.id))) return end('TESTBED_NOT_FOUND', 'The pilot is no longer visible to this key');
        write(': keep-alive\n\n');
      };
      const heartbeat = setInterval(() => {
        beat().catch((err: unknown) => request.log.warn({ err }, 'live stream heartbeat skipped: the registry did not answer'));
      }, limits.liveHeartbeatMs);
      stream.once('close', () => {
        streams.delete(end);
        clearInterval(heartbeat);
        subscription.close();
        offAlerts?.();
        release(holder);
        if (company !== undefined) release(company);
      });
      stream.write(`retry: ${limits.liveHeartbeatMs}\n: streaming readings of pilot ${pilot.id}\n\n`);
      // An open pilot's terms travel with its stream: the first event, before any reading.
      const terms = termsOf(pilot);
      if (terms) stream.write(event('licence', termsFields(terms)));
      // The stream is not a body the response schema describes: send it through the untyped reply.
      return (reply as FastifyReply)
        .header('content-type', 'text/event-stream; charset=utf-8')
        .header('cache-control', 'no-cache, no-store')
        .header('x-accel-buffering', 'no')
        .send(stream);
    },
  );
};
