import type { Device, DeviceLocation, Pilot, Scope } from '../core/index.js';
import type { CompiledProfile, Measurement, ProfileCatalogue } from '../device-profiles/index.js';
import type { TestbedRegistry } from '../registry/index.js';
import { datastreamOf, featureOf, historicalLocationOf, locationOf, observedPropertyOf, sensorOf, SEP, splitDatastreamId, thingOf } from './mapping.js';
import type { Entity, EntitySet } from './model.js';

/** A device the caller may see, with its pilot, profile, Datastreams and location history. */
export interface ThingRecord {
  readonly device: Device;
  readonly pilot: Pilot;
  readonly profile: CompiledProfile | undefined;
  readonly entity: Entity;
  readonly feature: Entity;
  /** Its Datastreams by measurement name, in the profile's order. */
  readonly datastreams: ReadonlyMap<string, DatastreamRecord>;
  /** Where it has stood, oldest first: each stretch is a Location and a HistoricalLocation. */
  readonly stretches: readonly Stretch[];
}

/** A Datastream's device and measurement. */
export interface DatastreamRecord {
  readonly thing: ThingRecord;
  readonly measurement: Measurement;
  readonly entity: Entity;
}

/** One stretch of a device's location history: a Location and its HistoricalLocation (one id). */
export interface Stretch {
  readonly thing: ThingRecord;
  readonly current: boolean;
  readonly location: Entity;
  readonly historical: Entity;
}

/**
 * Everything but Observations that one caller may see, read through the
 * registry's scoped reads only, so no entity outside the scope is ever in it:
 * not in a list, not by id, not through $expand or navigation. Read as the
 * request needs it: an entity by id reads its one device; a listing reads the
 * whole scope in three queries (pilots, devices, location histories); a plain
 * page of Things reads that page.
 */
export class World {
  readonly #things = new Map<string, ThingRecord | null>();
  #pilots: Map<string, Pilot> | undefined;
  #complete = false;
  readonly #sensors = new Map<string, Entity>();
  readonly #observedProperties = new Map<string, Entity>();

  constructor(
    private readonly registry: TestbedRegistry,
    private readonly profiles: ProfileCatalogue,
    private readonly scope: Scope,
    private readonly origin: string,
  ) {}

  /**
   * Reads the whole scope, once: every other read of the world is then
   * answered from memory. (The registry is async; the entity graph walked
   * by navigation and $expand is not.)
   */
  async loadAll(): Promise<void> {
    if (this.#complete) return;
    await this.#load({});
    this.#complete = true;
  }

  /** A device the caller sees, or undefined; of those loaded (by `loadAll` or `thingPage`). */
  thing(deviceId: string): ThingRecord | undefined {
    return this.#things.get(deviceId) ?? undefined;
  }

  /** Every device the caller sees, in id order (after `loadAll`). */
  things(): ThingRecord[] {
    if (!this.#complete) throw new Error('the world is read before loadAll');
    return [...this.#things.values()].filter((t): t is ThingRecord => t !== null).sort((a, b) => (a.device.id < b.device.id ? -1 : 1));
  }

  /** A page of the caller's devices in id order, cut by the registry's query; and how many there are in all when asked. */
  async thingPage(page: { afterId?: string | undefined; offset: number; limit: number }, count: boolean): Promise<{ things: ThingRecord[]; count?: number }> {
    const loaded = await this.#load(page);
    return { things: loaded, ...(count ? { count: await this.registry.countScopedDevices(this.scope) } : {}) };
  }

  datastream(id: string): DatastreamRecord | undefined {
    const ds = splitDatastreamId(id);
    return ds && this.thing(ds.deviceId)?.datastreams.get(ds.measurement);
  }

  datastreams(): DatastreamRecord[] {
    return this.things().flatMap((t) => [...t.datastreams.values()]);
  }

  /** A Location or HistoricalLocation stretch by its id (`device~epoch-ms`). */
  stretch(id: string): Stretch | undefined {
    const at = id.lastIndexOf(SEP);
    return at > 0 ? this.thing(id.slice(0, at))?.stretches.find((s) => s.location.id === id) : undefined;
  }

  /** The Sensor of a profile a visible Datastream has (visibility is the Datastream's). */
  sensorOf(profile: CompiledProfile): Entity {
    let sensor = this.#sensors.get(profile.profile.id);
    if (!sensor) this.#sensors.set(profile.profile.id, (sensor = sensorOf(profile, this.origin)));
    return sensor;
  }

  /** The ObservedProperty of a measurement a visible Datastream has. */
  observedPropertyOf(m: Measurement): Entity {
    let property = this.#observedProperties.get(m.name);
    if (!property) this.#observedProperties.set(m.name, (property = observedPropertyOf(m)));
    return property;
  }

  /** Every entity of a set the caller may see (not Observations: those are in the store). */
  all(set: Exclude<EntitySet, 'Observations'>): Entity[] {
    const things = this.things();
    switch (set) {
      case 'Things':
        return things.map((t) => t.entity);
      case 'Datastreams':
        return this.datastreams().map((d) => d.entity);
      case 'Sensors':
        return unique(this.datastreams().map((d) => this.sensorOf(d.thing.profile as CompiledProfile)));
      case 'ObservedProperties':
        return unique(this.datastreams().map((d) => this.observedPropertyOf(d.measurement)));
      case 'FeaturesOfInterest':
        return things.map((t) => t.feature);
      case 'Locations':
        return things.flatMap((t) => t.stretches.map((s) => s.location));
      case 'HistoricalLocations':
        return things.flatMap((t) => t.stretches.map((s) => s.historical));
    }
  }

  get(set: Exclude<EntitySet, 'Observations'>, id: string): Entity | undefined {
    switch (set) {
      case 'Things':
        return this.thing(id)?.entity;
      case 'Datastreams':
        return this.datastream(id)?.entity;
      case 'FeaturesOfInterest':
        return this.thing(id)?.feature;
      case 'Locations':
        return this.stretch(id)?.location;
      case 'HistoricalLocations':
        return this.stretch(id)?.historical;
      case 'Sensors':
      case 'ObservedProperties':
        // Visible when some visible Datastream has it: that takes the whole scope.
        return this.all(set).find((e) => e.id === id);
    }
  }

  /**
   * The entities a to-many navigation property of `from` leads to (not
   * Observations). A Thing's Locations is where it stands now (OGC 18-088
   * 8.2.1); its HistoricalLocations every stretch; a Location's Things the
   * device that stood there.
   */
  related(from: Entity, nav: string): Entity[] {
    if (from.set === 'Things') {
      const thing = this.thing(from.id);
      if (nav === 'Datastreams') return [...(thing?.datastreams.values() ?? [])].map((d) => d.entity);
      if (nav === 'Locations') return (thing?.stretches ?? []).filter((s) => s.current).map((s) => s.location);
      if (nav === 'HistoricalLocations') return (thing?.stretches ?? []).map((s) => s.historical);
    }
    if (nav === 'Datastreams') {
      const match = (d: DatastreamRecord) => (from.set === 'Sensors' ? d.thing.device.profile === from.id : d.measurement.name === from.id);
      return this.datastreams()
        .filter(match)
        .map((d) => d.entity);
    }
    const stretch = this.stretch(from.id);
    if (!stretch) return [];
    if (from.set === 'Locations' && nav === 'Things') return [stretch.thing.entity];
    if (from.set === 'Locations' && nav === 'HistoricalLocations') return [stretch.historical];
    if (from.set === 'HistoricalLocations' && nav === 'Locations') return [stretch.location];
    return [];
  }

  /** Reads devices of the scope (these ids, a page, or all) with their location histories, and remembers them. */
  async #load(page: { ids?: readonly string[]; afterId?: string | undefined; offset?: number; limit?: number }): Promise<ThingRecord[]> {
    this.#pilots ??= new Map((await this.registry.listPilots(this.scope)).map((p) => [p.id, p]));
    const devices = await this.registry.listScopedDevices(this.scope, page);
    const ids = devices.map((d) => d.id);
    // Coarsened by the registry for researchers and anonymous readers, as in every other answer.
    const locations = ids.length === 0 ? [] : await this.registry.listScopedLocations(this.scope, page.ids || page.limit !== undefined ? ids : undefined);
    const byDevice = new Map<string, DeviceLocation[]>();
    for (const l of locations) byDevice.set(l.deviceId, [...(byDevice.get(l.deviceId) ?? []), l]);
    for (const id of page.ids ?? []) if (!this.#things.has(id)) this.#things.set(id, null);
    const out: ThingRecord[] = [];
    for (const device of devices) {
      const pilot = this.#pilots.get(device.pilotId);
      if (!pilot) continue;
      const thing = this.#things.get(device.id) ?? this.#record(device, pilot, byDevice.get(device.id) ?? []);
      this.#things.set(device.id, thing);
      out.push(thing);
    }
    return out;
  }

  #record(device: Device, pilot: Pilot, locations: readonly DeviceLocation[]): ThingRecord {
    const profile = this.profiles.get(device.profile);
    const entity = thingOf(device, pilot);
    const datastreams = new Map<string, DatastreamRecord>();
    const stretches: Stretch[] = [];
    const thing: ThingRecord = { device, pilot, profile, entity, feature: featureOf(entity, device.location), datastreams, stretches };
    for (const m of profile?.profile.measurements ?? []) {
      datastreams.set(m.name, { thing, measurement: m, entity: datastreamOf(entity, device, m, device.location) });
    }
    for (const l of locations) stretches.push({ thing, current: l.to === null, location: locationOf(entity, l), historical: historicalLocationOf(l) });
    return thing;
  }
}

const unique = (entities: Entity[]): Entity[] => [...new Map(entities.map((e) => [e.id, e])).values()];
