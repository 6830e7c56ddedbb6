import { z } from 'zod';
import { testbedSchema } from '../../core/index.js';
import { commandDefinitionSchema, configFieldSchema, measurementSchema, profileSchema } from '../../device-profiles/index.js';
import { component } from './components.js';

export const testbedsResponseSchema = z.object({ testbeds: z.array(component('Testbed', testbedSchema, 'A testbed city')) });

/** A device profile as the API shows it: the profile file without its test vectors. */
export const profileViewSchema = component(
  'Profile',
  z.object({
    id: profileSchema.shape.id,
    name: profileSchema.shape.name,
    description: profileSchema.shape.description,
    formatVersion: profileSchema.shape.formatVersion,
    manufacturer: profileSchema.shape.manufacturer,
    model: profileSchema.shape.model,
    formats: profileSchema.shape.formats,
    binary: profileSchema.shape.binary,
    reportingIntervalSeconds: profileSchema.shape.reportingIntervalSeconds,
    measurements: z.array(component('Measurement', measurementSchema, 'A measurement: its unit and physical range')),
    commands: z.array(
      component('CommandDefinition', commandDefinitionSchema, 'A command a device of the profile takes: its parameters and default time-to-live'),
    ),
    configuration: z.array(component('ConfigField', configFieldSchema, "A key of a device's desired and reported configuration: its type, unit and range")),
  }),
  'A device profile',
);
export type ProfileView = z.infer<typeof profileViewSchema>;

export const profilesResponseSchema = z.object({ profiles: z.array(profileViewSchema) });
