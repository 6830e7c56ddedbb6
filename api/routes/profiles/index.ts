import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { CompiledProfile } from '../../../device-profiles/index.js';
import { OPEN_DATA } from '../../access.js';
import type { RouteOptions } from '../../deps.js';
import { profilesResponseSchema, type ProfileView } from '../../schemas/catalogue.js';
import { errorResponses, json } from '../../schemas/responses.js';

/** What a client needs to know of a profile; its test vectors stay in the file. */
function view({ profile }: CompiledProfile): ProfileView {
  return {
    id: profile.id,
    name: profile.name,
    description: profile.description,
    formatVersion: profile.formatVersion,
    manufacturer: profile.manufacturer,
    model: profile.model,
    formats: profile.formats,
    binary: profile.binary,
    reportingIntervalSeconds: profile.reportingIntervalSeconds,
    measurements: profile.measurements,
    commands: profile.commands,
    configuration: profile.configuration,
  };
}

/** `GET /v1/profiles`: the device profiles the gateway validates readings against. */
export const profileRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  const profiles = [...deps.profiles.values()].map(view).sort((a, b) => a.id.localeCompare(b.id));
  app.get(
    '/profiles',
    {
      config: OPEN_DATA,
      schema: {
        tags: ['catalogue'],
        summary: 'List the device profiles: measurements, units, ranges, formats, binary layouts, commands and configuration keys',
        response: { 200: json('The device profiles', profilesResponseSchema), ...errorResponses },
      },
    },
    async () => ({ profiles }),
  );
};
