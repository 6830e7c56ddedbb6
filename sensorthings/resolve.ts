import { splitDatastreamId, splitObservationId } from './mapping.js';
import type { Entity } from './model.js';
import type { Resolve } from './odata/evaluate.js';
import { unsupported } from './odata/errors.js';
import type { World } from './world.js';

/** The entity a to-one navigation property of `from` leads to, in the caller's world. */
export function toOne(world: World, from: Entity, nav: string): Entity | undefined {
  if (from.set === 'Observations') {
    const o = splitObservationId(from.id);
    if (!o) return undefined;
    if (nav === 'Datastream') return world.datastream(`${o.deviceId}~${o.measurement}`)?.entity;
    if (nav === 'FeatureOfInterest') return world.thing(o.deviceId)?.feature;
  }
  if (from.set === 'Datastreams') {
    const d = world.datastream(from.id);
    if (!d) return undefined;
    if (nav === 'Thing') return d.thing.entity;
    if (nav === 'Sensor') return d.thing.profile && world.sensorOf(d.thing.profile);
    if (nav === 'ObservedProperty') return world.observedPropertyOf(d.measurement);
  }
  if (from.set === 'HistoricalLocations' && nav === 'Thing') return world.stretch(from.id)?.thing.entity;
  return undefined;
}

/**
 * Reads a property path of an entity for $filter and $orderby: `id`,
 * `name`, `properties/pilotId`, `unitOfMeasurement/symbol`, and through to-one
 * navigation `Datastream/name`, `Datastream/Thing/properties/testbedId`.
 */
export function resolver(world: World, entity: Entity): Resolve {
  return (path) => {
    let at: Entity | undefined = entity;
    let value: unknown;
    for (const [i, name] of path.entries()) {
      if (at) {
        if (name === 'id' || name === '@iot.id' || Object.hasOwn(at.props, name)) {
          value = name === 'id' || name === '@iot.id' ? at.id : at.props[name];
          at = undefined;
        } else if (/^[A-Z]/.test(name)) {
          const next = toOne(world, at, name);
          if (next === undefined && !isToOne(at, name))
            throw unsupported(
              `the path ${path.slice(0, i + 1).join('/')} in $filter or $orderby`,
              'navigate only through to-one properties (Datastream, Thing, Sensor, ObservedProperty, FeatureOfInterest)',
            );
          at = next;
          if (!at) return null;
        } else return null;
      } else value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[name] : undefined;
    }
    return at ? at.id : value;
  };
}

const TO_ONE: Readonly<Record<string, readonly string[]>> = {
  Observations: ['Datastream', 'FeatureOfInterest'],
  Datastreams: ['Thing', 'Sensor', 'ObservedProperty'],
  HistoricalLocations: ['Thing'],
};
const isToOne = (e: Entity, nav: string): boolean => TO_ONE[e.set]?.includes(nav) ?? false;

/** The Datastream id of an Observation id (for links). */
export const datastreamOfObservation = (id: string): string | undefined => {
  const o = splitObservationId(id);
  return o ? `${o.deviceId}~${o.measurement}` : undefined;
};
export { splitDatastreamId };
