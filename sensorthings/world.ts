import type { Device, Pilot, Scope } from '../core/index.js';
import type { CompiledProfile, Measurement, ProfileCatalogue } from '../device-profiles/index.js';
import type { TestbedRegistry } from '../registry/index.js';
import { datastreamOf, featureOf, observedPropertyOf, sensorOf, thingOf, type PilotProperties } from './mapping.js';
import type { Entity, EntitySet } from './model.js';

/** A device the caller may see, with its pilot and profile. */
export interface ThingRecord {
  readonly device: Device;
  readonly pilot: Pilot;
  readonly profile: CompiledProfile | undefined;
  readonly entity: Entity;
}

/** A Datastream's device and measurement. */
export interface DatastreamRecord {
  readonly thing: ThingRecord;
  readonly measurement: Measurement;
  readonly entity: Entity;
}

/**
 * Everything but Observations that one caller may see, loaded once per request
 * through the registry's scoped reads (listPilots, listDevices with the
 * caller's scope), so no entity outside the scope is ever in it: not in a
 * list, not by id, not through $expand or navigation.
 */
export class World {
  readonly things = new Map<string, ThingRecord>();
  readonly datastreams = new Map<string, DatastreamRecord>();
  readonly sensors = new Map<string, Entity>();
  readonly observedProperties = new Map<string, Entity>();
  readonly features = new Map<string, Entity>();

  constructor(registry: TestbedRegistry, profiles: ProfileCatalogue, scope: Scope, origin: string, pilotProperties: PilotProperties) {
    for (const pilot of registry.listPilots(scope)) {
      for (const device of registry.listDevices(scope, pilot.id)) {
        const profile = profiles.get(device.profile);
        const entity = thingOf(device, pilot, pilotProperties(pilot));
        const thing: ThingRecord = { device, pilot, profile, entity };
        this.things.set(device.id, thing);
        this.features.set(device.id, featureOf(entity, undefined));
        if (!profile) continue;
        if (!this.sensors.has(profile.profile.id)) this.sensors.set(profile.profile.id, sensorOf(profile, origin));
        for (const m of profile.profile.measurements) {
          const ds = datastreamOf(entity, device, m, undefined);
          this.datastreams.set(ds.id, { thing, measurement: m, entity: ds });
          if (!this.observedProperties.has(m.name)) this.observedProperties.set(m.name, observedPropertyOf(m));
        }
      }
    }
  }

  /** Every entity of a set the caller may see (not Observations: those are in the store). */
  all(set: Exclude<EntitySet, 'Observations'>): Entity[] {
    switch (set) {
      case 'Things':
        return [...this.things.values()].map((t) => t.entity);
      case 'Datastreams':
        return [...this.datastreams.values()].map((d) => d.entity);
      case 'Sensors':
        return [...this.sensors.values()];
      case 'ObservedProperties':
        return [...this.observedProperties.values()];
      case 'FeaturesOfInterest':
        return [...this.features.values()];
      case 'Locations':
      case 'HistoricalLocations':
        return [];
    }
  }

  get(set: Exclude<EntitySet, 'Observations'>, id: string): Entity | undefined {
    switch (set) {
      case 'Things':
        return this.things.get(id)?.entity;
      case 'Datastreams':
        return this.datastreams.get(id)?.entity;
      case 'Sensors':
        return this.sensors.get(id);
      case 'ObservedProperties':
        return this.observedProperties.get(id);
      case 'FeaturesOfInterest':
        return this.features.get(id);
      case 'Locations':
      case 'HistoricalLocations':
        return undefined;
    }
  }

  /** The Datastreams a Thing, Sensor or ObservedProperty has. */
  datastreamsOf(from: Entity): Entity[] {
    const match = (d: DatastreamRecord): boolean =>
      from.set === 'Things' ? d.thing.device.id === from.id : from.set === 'Sensors' ? d.thing.device.profile === from.id : d.measurement.name === from.id;
    return [...this.datastreams.values()].filter(match).map((d) => d.entity);
  }
}
