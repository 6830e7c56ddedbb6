import type { z } from 'zod';

/**
 * Names `schema` as an OpenAPI component (`components/schemas/<id>`), with the
 * description responses of it show. `.meta()` returns a copy registered in
 * zod's global registry, where the OpenAPI generator looks; the schema passed
 * in, often one of core's, is left untouched.
 */
export function component<T extends z.ZodType>(id: string, schema: T, description: string): T {
  return schema.meta({ id, description });
}
