import { ENTITY_SETS } from './model.js';

/**
 * The conformance classes this read-only service implements (OGC 18-088
 * Annex A): the sensing core and the filtering extension, none of the
 * create-update-delete, batch, MQTT or data-array classes.
 */
export const CONFORMANCE = [
  'http://www.opengis.net/spec/iot_sensing/1.1/req/datamodel',
  'http://www.opengis.net/spec/iot_sensing/1.1/req/resource-path/resource-path-to-entities',
  'http://www.opengis.net/spec/iot_sensing/1.1/req/request-data',
] as const;

/** OGC 18-088 9.2.1 (1.1 adds serverSettings): the entity sets and what the server conforms to. */
export function landingPage(base: string) {
  return {
    value: ENTITY_SETS.map((name) => ({ name, url: `${base}/${name}` })),
    serverSettings: { conformance: [...CONFORMANCE] },
  };
}
