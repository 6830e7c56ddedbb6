import type { Device, DeviceLocation, Pilot, Scope } from '../core/index.js';
import type { CompiledProfile, Measurement, ProfileCatalogue } from '../device-profiles/index.js';
import type { TestbedRegistry } from '../registry/index.js';
import { datastreamOf, featureOf, historicalLocationOf, locationOf, observedPropertyOf, sensorOf, thingOf } from './mapping.js';
import type { Entity, EntitySet } from './model.js';

/** A device the caller may see, with its pilot and profile. */
export interface ThingRecord {
  readonly device: Device;
  readonly pilot: Pilot;
  readonly profile: CompiledProfile | undefined;
  readonly entity: Entity;
  /** Where it has stood, oldest first: each stretch is a Location and a HistoricalLocation. */
  readonly locations: readonly DeviceLocation[];
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
  /** Location and HistoricalLocation ids -> the device and the stretch of its history. */
  readonly locations = new Map<string, { thing: ThingRecord; location: Entity; historical: Entity }>();

  constructor(registry: TestbedRegistry, profiles: ProfileCatalogue, scope: Scope, origin: string) {
    for (const pilot of registry.listPilots(scope)) {
      for (const device of registry.listDevices(scope, pilot.id)) {
        const profile = profiles.get(device.profile);
        const entity = thingOf(device, pilot);
        // Coarsened by the registry for researchers and anonymous readers, as in every other answer.
        const locations = registry.listDeviceLocations(scope, device.id) ?? [];
        const thing: ThingRecord = { device, pilot, profile, entity, locations };
        this.things.set(device.id, thing);
        this.features.set(device.id, featureOf(entity, device.location));
        for (const l of locations) {
          const location = locationOf(entity, l);
          this.locations.set(location.id, { thing, location, historical: historicalLocationOf(l) });
        }
        if (!profile) continue;
        if (!this.sensors.has(profile.profile.id)) this.sensors.set(profile.profile.id, sensorOf(profile, origin));
        for (const m of profile.profile.measurements) {
          const ds = datastreamOf(entity, device, m, device.location);
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
        return [...this.locations.values()].map((l) => l.location);
      case 'HistoricalLocations':
        return [...this.locations.values()].map((l) => l.historical);
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
        return this.locations.get(id)?.location;
      case 'HistoricalLocations':
        return this.locations.get(id)?.historical;
    }
  }

  /**
   * The entities a to-many navigation property of `from` leads to (not
   * Observations). A Thing's Locations is where it stands now (OGC 18-088
   * 8.2.1); its HistoricalLocations every stretch; a Location's Things the
   * device that stood there.
   */
  related(from: Entity, nav: string): Entity[] {
    if (nav === 'Datastreams') return this.#datastreamsOf(from);
    if (from.set === 'Things') {
      const stretches = [...this.locations.values()].filter((l) => l.thing.device.id === from.id);
      if (nav === 'Locations')
        return stretches.filter((l) => l.location.props.properties && (l.location.props.properties as { to: unknown }).to === null).map((l) => l.location);
      if (nav === 'HistoricalLocations') return stretches.map((l) => l.historical);
    }
    const stretch = this.locations.get(from.id);
    if (!stretch) return [];
    if (from.set === 'Locations' && nav === 'Things') return [stretch.thing.entity];
    if (from.set === 'Locations' && nav === 'HistoricalLocations') return [stretch.historical];
    if (from.set === 'HistoricalLocations' && nav === 'Locations') return [stretch.location];
    return [];
  }

  /** The Datastreams a Thing, Sensor or ObservedProperty has. */
  #datastreamsOf(from: Entity): Entity[] {
    const match = (d: DatastreamRecord): boolean =>
      from.set === 'Things' ? d.thing.device.id === from.id : from.set === 'Sensors' ? d.thing.device.profile === from.id : d.measurement.name === from.id;
    return [...this.datastreams.values()].filter(match).map((d) => d.entity);
  }
}
