/**
 * The SensorThings data model as this service serves it (OGC 18-088 8.2,
 * Figure 2): the entity sets, their properties and their navigation
 * properties. Everything else (the query engine, links, $select) reads it.
 */
export const ENTITY_SETS = [
  'Things',
  'Locations',
  'HistoricalLocations',
  'Datastreams',
  'Sensors',
  'ObservedProperties',
  'Observations',
  'FeaturesOfInterest',
] as const;
export type EntitySet = (typeof ENTITY_SETS)[number];
export const isEntitySet = (name: string): name is EntitySet => (ENTITY_SETS as readonly string[]).includes(name);

export interface Navigation {
  readonly target: EntitySet;
  /** A to-many navigation property names a collection; a to-one names one entity. */
  readonly many: boolean;
}

export const NAVIGATION: Readonly<Record<EntitySet, Readonly<Record<string, Navigation>>>> = {
  Things: {
    Locations: { target: 'Locations', many: true },
    HistoricalLocations: { target: 'HistoricalLocations', many: true },
    Datastreams: { target: 'Datastreams', many: true },
  },
  Locations: { Things: { target: 'Things', many: true }, HistoricalLocations: { target: 'HistoricalLocations', many: true } },
  HistoricalLocations: { Thing: { target: 'Things', many: false }, Locations: { target: 'Locations', many: true } },
  Datastreams: {
    Thing: { target: 'Things', many: false },
    Sensor: { target: 'Sensors', many: false },
    ObservedProperty: { target: 'ObservedProperties', many: false },
    Observations: { target: 'Observations', many: true },
  },
  Sensors: { Datastreams: { target: 'Datastreams', many: true } },
  ObservedProperties: { Datastreams: { target: 'Datastreams', many: true } },
  Observations: { Datastream: { target: 'Datastreams', many: false }, FeatureOfInterest: { target: 'FeaturesOfInterest', many: false } },
  FeaturesOfInterest: { Observations: { target: 'Observations', many: true } },
};

/** The properties of each entity type besides `@iot.id` (OGC 18-088 8.2.1 to 8.2.8). */
export const PROPERTIES: Readonly<Record<EntitySet, readonly string[]>> = {
  Things: ['name', 'description', 'properties'],
  Locations: ['name', 'description', 'encodingType', 'location', 'properties'],
  HistoricalLocations: ['time'],
  Datastreams: ['name', 'description', 'unitOfMeasurement', 'observationType', 'observedArea', 'phenomenonTime', 'resultTime', 'properties'],
  Sensors: ['name', 'description', 'encodingType', 'metadata', 'properties'],
  ObservedProperties: ['name', 'definition', 'description', 'properties'],
  Observations: ['phenomenonTime', 'resultTime', 'result', 'resultQuality', 'validTime', 'parameters'],
  FeaturesOfInterest: ['name', 'description', 'encodingType', 'feature', 'properties'],
};

/** An entity as the engine handles it: its set, its id and its properties (no links yet). */
export interface Entity {
  readonly set: EntitySet;
  readonly id: string;
  readonly props: Readonly<Record<string, unknown>>;
}
