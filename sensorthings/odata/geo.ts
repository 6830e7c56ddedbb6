import { badQuery, unsupported } from './errors.js';

/**
 * The geometries $filter compares: a point, or a polygon given by its outer
 * ring (holes are not supported). Coordinates are [longitude, latitude] as in
 * GeoJSON (RFC 7946 3.1.1) and WKT.
 */
export type Geometry =
  | { readonly type: 'Point'; readonly coordinates: readonly [number, number] }
  | { readonly type: 'Polygon'; readonly ring: readonly (readonly [number, number])[] };

const pair = (text: string): [number, number] => {
  const parts = text.trim().split(/\s+/).map(Number);
  if (parts.length < 2 || parts.length > 3 || parts.some((n) => !Number.isFinite(n))) throw badQuery(`"${text.trim()}" is not a WKT coordinate "lon lat"`);
  return [parts[0] as number, parts[1] as number];
};

/** A WKT literal (OGC 06-103r4): POINT(lon lat) or POLYGON((lon lat, ...)) with one ring. */
export function parseWkt(text: string): Geometry {
  const m = /^\s*(\w+)\s*\((.*)\)\s*$/s.exec(text);
  const kind = m?.[1]?.toUpperCase();
  if (kind === 'POINT') return { type: 'Point', coordinates: pair(m?.[2] ?? '') };
  if (kind === 'POLYGON') {
    const rings = [...(m?.[2] ?? '').matchAll(/\(([^()]*)\)/g)].map((r) => (r[1] ?? '').split(',').map(pair));
    if (rings.length !== 1) throw unsupported('polygons with holes', 'give the outer ring only');
    const ring = rings[0] as [number, number][];
    if (ring.length < 4) throw badQuery('A WKT polygon ring needs at least four points, the last equal to the first');
    return { type: 'Polygon', ring };
  }
  throw unsupported(`the geometry ${kind ?? text}`, 'use POINT or POLYGON (a bounding box is a POLYGON of its four corners)');
}

/** A GeoJSON Point or Polygon of an entity, as a Geometry; anything else is undefined. */
export function fromGeoJson(value: unknown): Geometry | undefined {
  const g = value as { type?: unknown; coordinates?: unknown } | null;
  if (g?.type === 'Point' && Array.isArray(g.coordinates)) return { type: 'Point', coordinates: [Number(g.coordinates[0]), Number(g.coordinates[1])] };
  if (g?.type === 'Polygon' && Array.isArray(g.coordinates) && Array.isArray(g.coordinates[0])) {
    return { type: 'Polygon', ring: (g.coordinates[0] as number[][]).map((c) => [Number(c[0]), Number(c[1])] as [number, number]) };
  }
  if (g?.type === 'Feature') return fromGeoJson((value as { geometry?: unknown }).geometry);
  return undefined;
}

/** Ray casting; a point on the boundary counts as inside (it intersects). */
function inRing(p: readonly [number, number], ring: readonly (readonly [number, number])[]): boolean {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i] as [number, number];
    const [xj, yj] = ring[j] as [number, number];
    if (onSegment(p, [xi, yi], [xj, yj])) return true;
    if (yi > p[1] !== yj > p[1] && p[0] < ((xj - xi) * (p[1] - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function onSegment(p: readonly [number, number], a: readonly [number, number], b: readonly [number, number]): boolean {
  const cross = (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]);
  return (
    Math.abs(cross) < 1e-12 && p[0] >= Math.min(a[0], b[0]) && p[0] <= Math.max(a[0], b[0]) && p[1] >= Math.min(a[1], b[1]) && p[1] <= Math.max(a[1], b[1])
  );
}

/** OGC 18-088 Table 10 geo.intersects / st_intersects, for the point-and-polygon cases devices give. */
export function intersects(a: Geometry, b: Geometry): boolean {
  if (a.type === 'Point' && b.type === 'Point') return a.coordinates[0] === b.coordinates[0] && a.coordinates[1] === b.coordinates[1];
  if (a.type === 'Point' && b.type === 'Polygon') return inRing(a.coordinates, b.ring);
  if (a.type === 'Polygon' && b.type === 'Point') return inRing(b.coordinates, a.ring);
  throw unsupported('comparing two polygons', 'compare a location (a point) with a polygon');
}

/** st_within(a, b): a lies inside b. */
export function within(a: Geometry, b: Geometry): boolean {
  if (b.type === 'Polygon' && a.type === 'Point') return inRing(a.coordinates, b.ring);
  if (a.type === 'Point' && b.type === 'Point') return intersects(a, b);
  throw unsupported('st_within of a polygon', 'test whether a point lies within a polygon');
}
