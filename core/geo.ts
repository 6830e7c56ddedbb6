import { z } from 'zod';

/**
 * Where a device stands: a GeoJSON Point (RFC 7946 §3.1.2) in WGS84, longitude
 * first, with an optional altitude in metres. RFC 7946 §4 fixes the datum, so
 * there is no `crs` member.
 */
export const pointSchema = z
  .strictObject({
    type: z.literal('Point'),
    coordinates: z.union([
      z.tuple([z.number().min(-180).max(180), z.number().min(-90).max(90)]),
      z.tuple([z.number().min(-180).max(180), z.number().min(-90).max(90), z.number().min(-12_000).max(100_000)]),
    ]),
  })
  .meta({
    description: 'GeoJSON Point, WGS84: [longitude, latitude] or [longitude, latitude, altitude in metres]',
    example: { type: 'Point', coordinates: [24.9384, 60.1699] },
  });
export type Point = z.infer<typeof pointSchema>;

/** A bounding box in WGS84 degrees, as RFC 7946 §5 orders it: west, south, east, north. */
export interface BBox {
  readonly minLon: number;
  readonly minLat: number;
  readonly maxLon: number;
  readonly maxLat: number;
}

/** Parses `minLon,minLat,maxLon,maxLat`; a message saying what is wrong otherwise. */
export function parseBbox(text: string): BBox | string {
  const parts = text.split(',').map((p) => (p.trim() === '' ? Number.NaN : Number(p)));
  if (parts.length !== 4 || parts.some((n) => !Number.isFinite(n))) return 'bbox must be four numbers: minLon,minLat,maxLon,maxLat';
  const [minLon, minLat, maxLon, maxLat] = parts as [number, number, number, number];
  if (minLon < -180 || maxLon > 180 || minLat < -90 || maxLat > 90) return 'bbox longitudes are within -180..180 and latitudes within -90..90';
  if (minLon > maxLon || minLat > maxLat) return 'bbox minimums must not exceed its maximums (a box across the antimeridian is not supported)';
  return { minLon, minLat, maxLon, maxLat };
}

/** Whether a point lies in the box, edges included. */
export function inBbox(point: Point, box: BBox): boolean {
  const [lon, lat] = point.coordinates;
  return lon >= box.minLon && lon <= box.maxLon && lat >= box.minLat && lat <= box.maxLat;
}

const METRES_PER_DEGREE = 111_320; // of latitude, and of longitude at the equator
const round = (n: number, digits: number): number => Number(n.toFixed(digits));

/**
 * The point moved to the centre of its cell in a grid of `metres`: what is
 * published where an exact place is sensitive. Latitude is snapped first, and
 * the longitude step is widened by 1/cos(latitude of that cell) so a cell is
 * about `metres` wide everywhere; altitude is rounded to the same step. Every
 * point of a cell gives the same answer, so repeated reads reveal nothing more.
 */
export function coarsen(point: Point, metres: number): Point {
  const [lon, lat, alt] = point.coordinates;
  const latStep = metres / METRES_PER_DEGREE;
  const cellLat = Math.min(90, Math.max(-90, (Math.floor(lat / latStep) + 0.5) * latStep));
  const lonStep = Math.min(360, metres / (METRES_PER_DEGREE * Math.max(Math.cos((cellLat * Math.PI) / 180), 1e-6)));
  const cellLon = Math.min(180, Math.max(-180, (Math.floor((lon + 180) / lonStep) + 0.5) * lonStep - 180));
  const coords: [number, number] = [round(cellLon, 7), round(cellLat, 7)];
  return { type: 'Point', coordinates: alt === undefined ? coords : [...coords, Math.round(alt / metres) * metres] };
}
