/**
 * The OGC SensorThings API 1.1 (OGC 18-088), read-only: an OData-style query
 * surface over the registry and the reading store, always in the caller's
 * scope. The HTTP API serves it at /sta/v1.1; see README.md.
 */
export { SensorThings, NO_ENTITY, type SensorThingsAnswer, type SensorThingsDeps, type SensorThingsRequest } from './service.js';
export { STA_LIMITS, type StaLimits } from './limits.js';
export { CONFORMANCE } from './landing.js';
export { parseFilter, parseOrderBy, type Expr } from './odata/filter.js';
export { parseOptions, parseExpand, type QueryOptions, type ExpandItem } from './odata/options.js';
export { parsePath } from './odata/path.js';
export { evaluate } from './odata/evaluate.js';
