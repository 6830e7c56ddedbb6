import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from '../core/log.js';
import type { Registry } from '../core/registry/registry.js';
import type { ReadingStore, RejectionLog } from '../core/store/types.js';
import type { ProfileCatalogue } from '../device-profiles/load.js';

/** What the API needs from the rest of the pipeline; the composition root provides it. */
export interface ApiDeps {
  readonly registry: Registry;
  readonly readings: ReadingStore;
  readonly rejections: RejectionLog;
  readonly profiles: ProfileCatalogue;
  readonly log: Logger;
  /** Extra fields for `GET /v1/health`, e.g. gateway and ingest counters. */
  readonly health?: (() => Record<string, unknown>) | undefined;
}

/** The options every route plugin is registered with. */
export interface RouteOptions {
  readonly deps: ApiDeps;
}

/** The Fastify instance of the API, with zod schemas for types. */
export type ApiInstance = FastifyInstance<Server, IncomingMessage, ServerResponse, FastifyBaseLogger, ZodTypeProvider>;
