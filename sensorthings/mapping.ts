import { isoTime, licenceUrl, type Device, type DeviceLocation, type Pilot } from '../core/index.js';
import { QUANTITIES, type CompiledProfile, type Measurement } from '../device-profiles/index.js';
import type { SeriesRow } from '../store/index.js';
import type { Entity } from './model.js';
import { OM_MEASUREMENT, unitOfMeasurement } from './units.js';

/*
 * How the testbed's objects become SensorThings entities (OGC 18-088 8.2).
 * Ids are stable strings: a Thing is its device id, a Sensor its profile id,
 * an ObservedProperty its measurement name, a Datastream `device~measurement`,
 * an Observation `device~measurement~epoch-ms`, a FeatureOfInterest the device id.
 */

export const SEP = '~';
export const datastreamId = (deviceId: string, measurement: string): string => `${deviceId}${SEP}${measurement}`;
export const observationId = (deviceId: string, measurement: string, time: number): string => `${datastreamId(deviceId, measurement)}${SEP}${time}`;

/** The device and measurement of a Datastream id, or undefined when it is not one of ours. */
export function splitDatastreamId(id: string): { deviceId: string; measurement: string } | undefined {
  const at = id.lastIndexOf(SEP);
  return at > 0 ? { deviceId: id.slice(0, at), measurement: id.slice(at + 1) } : undefined;
}

/** The device, measurement and time of an Observation id, or undefined. */
export function splitObservationId(id: string): { deviceId: string; measurement: string; time: number } | undefined {
  const at = id.lastIndexOf(SEP);
  const ds = at > 0 ? splitDatastreamId(id.slice(0, at)) : undefined;
  const time = Number(id.slice(at + 1));
  return ds && /^\d+$/.test(id.slice(at + 1)) && Number.isSafeInteger(time) ? { ...ds, time } : undefined;
}

/** OGC 18-088 8.2.1 Thing: a device, with where it belongs, and its pilot's licence and attribution, in its properties. */
export function thingOf(device: Device, pilot: Pilot): Entity {
  return {
    set: 'Things',
    id: device.id,
    props: {
      name: device.name ?? device.id,
      description: `A ${device.profile} device of the pilot ${pilot.name}`,
      properties: {
        deviceId: device.id,
        profile: device.profile,
        pilotId: pilot.id,
        pilotName: pilot.name,
        companyId: pilot.companyId,
        testbedId: pilot.testbedId,
        sharing: pilot.sharingNow,
        licence: pilot.licence,
        licenceUrl: pilot.licence ? (licenceUrl(pilot.licence) ?? null) : null,
        attribution: pilot.attribution,
        citation: pilot.citation,
        placement: device.placement,
        installedAt: device.installedAt,
        removedAt: device.removedAt,
        locationPrecisionMeters: device.locationPrecisionMeters,
      },
    },
  };
}

/** OGC 18-088 8.2.5 Sensor: a device profile. */
export function sensorOf(profile: CompiledProfile, origin: string): Entity {
  const p = profile.profile;
  return {
    set: 'Sensors',
    id: p.id,
    props: {
      name: p.name,
      description: p.description ?? p.name,
      encodingType: 'application/json',
      metadata: `${origin}/v1/profiles`,
      properties: { profile: p.id, manufacturer: p.manufacturer ?? null, model: p.model ?? null, reportingIntervalSeconds: p.reportingIntervalSeconds },
    },
  };
}

/** OGC 18-088 8.2.6 ObservedProperty: a measurement name, described by its quantity. */
export function observedPropertyOf(m: Measurement): Entity {
  return {
    set: 'ObservedProperties',
    id: m.name,
    props: {
      name: m.name,
      definition: `urn:testbed:quantity:${m.quantity}`,
      description: m.description ?? QUANTITIES[m.quantity].description,
      properties: { quantity: m.quantity, unit: m.unit },
    },
  };
}

/** The licence, its page, attribution and citation a Thing carries: a Datastream repeats them, so they travel with its Observations' source. */
function termsOf(thing: Entity): Record<string, unknown> {
  const p = thing.props.properties as Record<string, unknown>;
  return { licence: p.licence, licenceUrl: p.licenceUrl, attribution: p.attribution, citation: p.citation };
}

/** OGC 18-088 8.2.4 Datastream: one device x one measurement. phenomenonTime is filled in later, from the store. */
export function datastreamOf(thing: Entity, device: Device, m: Measurement, observedArea: unknown): Entity {
  return {
    set: 'Datastreams',
    id: datastreamId(device.id, m.name),
    props: {
      name: `${String(thing.props.name)} ${m.name}`,
      description: m.description ?? QUANTITIES[m.quantity].description,
      unitOfMeasurement: unitOfMeasurement(m.unit),
      observationType: OM_MEASUREMENT,
      observedArea: observedArea ?? null,
      phenomenonTime: null,
      resultTime: null,
      properties: {
        ...termsOf(thing),
        measurement: m.name,
        quantity: m.quantity,
        resolution: m.resolution ?? null,
        range: m.range,
        plausible: m.plausible ?? m.range,
      },
    },
  };
}

/** A TM_Period as OGC 18-088 writes it: "start/end" (ISO 8601). */
export const period = (from: number, to: number): string => `${isoTime(from)}/${isoTime(to)}`;

/** A value's quality flags as resultQuality holds them: `suspect` always, `stuck` and `gap` only when raised. */
export const qualityOf = (row: Pick<SeriesRow, 'suspect' | 'stuck' | 'gap'>, measurement: string): Record<string, boolean> => ({
  suspect: row.suspect?.includes(measurement) ?? false,
  ...(row.stuck?.includes(measurement) ? { stuck: true } : {}),
  ...(row.gap === true ? { gap: true } : {}),
});

/** OGC 18-088 8.2.7 Observation: one value of one reading, its quality flags in resultQuality (see qualityOf). */
export function observationOf(deviceId: string, measurement: string, time: number, value: number, resultQuality: Record<string, boolean>): Entity {
  const at = isoTime(time);
  return {
    set: 'Observations',
    id: observationId(deviceId, measurement, time),
    props: { phenomenonTime: at, resultTime: at, result: value, resultQuality, validTime: null, parameters: null },
  };
}

/** A Location's (and its HistoricalLocation's) id: the device and when it came to stand there. */
export const locationId = (l: DeviceLocation): string => `${l.deviceId}${SEP}${Date.parse(l.from)}`;

/** OGC 18-088 8.2.2 Location: one stretch of a device's location history, as GeoJSON. */
export function locationOf(thing: Entity, l: DeviceLocation): Entity {
  return {
    set: 'Locations',
    id: locationId(l),
    props: {
      name: `${String(thing.props.name)} from ${l.from}`,
      description: l.to ? `Where ${thing.id} stood from ${l.from} to ${l.to}` : `Where ${thing.id} stands since ${l.from}`,
      encodingType: 'application/geo+json',
      location: l.location,
      properties: { deviceId: l.deviceId, from: l.from, to: l.to },
    },
  };
}

/** OGC 18-088 8.2.3 HistoricalLocation: when the device came to stand at a Location. */
export const historicalLocationOf = (l: DeviceLocation): Entity => ({ set: 'HistoricalLocations', id: locationId(l), props: { time: l.from } });

/** OGC 18-088 8.2.8 FeatureOfInterest: where a device observes, its location. */
export function featureOf(thing: Entity, location: unknown): Entity {
  return {
    set: 'FeaturesOfInterest',
    id: thing.id,
    props: {
      name: `Where ${String(thing.props.name)} observes`,
      description: `The location of the device ${thing.id}`,
      encodingType: 'application/geo+json',
      feature: location ?? null,
      properties: { deviceId: thing.id },
    },
  };
}
