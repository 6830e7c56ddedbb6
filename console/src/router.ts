import { useEffect, useState } from 'preact/hooks';

/**
 * Pages are addressed by the URL's fragment (`#/pilots/p_1`), so the gateway
 * serves one index.html and every page, filters included, can be bookmarked
 * and linked. Fragments hold ids and filters only: never a key.
 */
export interface FleetFilter {
  status?: string | undefined;
  profile?: string | undefined;
  pilot?: string | undefined;
  testbed?: string | undefined;
  battery?: 'low' | undefined;
  view?: 'map' | undefined;
}

export type Route =
  | { page: 'overview' }
  | { page: 'pilots'; testbedId?: string | undefined; companyId?: string | undefined }
  | { page: 'pilot'; pilotId: string }
  | { page: 'devices'; filter: FleetFilter }
  | { page: 'device'; deviceId: string }
  | { page: 'alerts' }
  | { page: 'webhooks' }
  | { page: 'keys' }
  | { page: 'open'; pilotId?: string | undefined };

const FLEET_FIELDS = ['status', 'profile', 'pilot', 'testbed', 'battery', 'view'] as const;

function fleetFilter(query: URLSearchParams): FleetFilter {
  const filter: Record<string, string> = {};
  for (const name of FLEET_FIELDS) {
    const value = query.get(name);
    if (value) filter[name] = value;
  }
  if (filter.battery !== 'low') delete filter.battery;
  if (filter.view !== 'map') delete filter.view;
  return filter as FleetFilter;
}

export function parseRoute(hash: string): Route {
  const [path = '', search = ''] = hash.replace(/^#/, '').split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const query = new URLSearchParams(search);
  switch (parts[0]) {
    case 'pilots':
      return parts[1]
        ? { page: 'pilot', pilotId: parts[1] }
        : { page: 'pilots', testbedId: query.get('testbed') ?? undefined, companyId: query.get('company') ?? undefined };
    case 'devices':
      return parts[1] ? { page: 'device', deviceId: parts[1] } : { page: 'devices', filter: fleetFilter(query) };
    case 'alerts':
      return { page: 'alerts' };
    case 'webhooks':
      return { page: 'webhooks' };
    case 'keys':
      return { page: 'keys' };
    case 'open':
      return { page: 'open', pilotId: parts[1] };
    default:
      return { page: 'overview' };
  }
}

const withQuery = (path: string, fields: Record<string, string | undefined>): string => {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) if (value) query.set(name, value);
  const text = query.toString();
  return text ? `${path}?${text}` : path;
};

/** The fragment that shows `route`, for links. */
export function href(route: Route): string {
  switch (route.page) {
    case 'overview':
      return '#/';
    case 'pilots':
      return withQuery('#/pilots', { testbed: route.testbedId, company: route.companyId });
    case 'pilot':
      return `#/pilots/${encodeURIComponent(route.pilotId)}`;
    case 'devices':
      return withQuery('#/devices', { ...route.filter });
    case 'device':
      return `#/devices/${encodeURIComponent(route.deviceId)}`;
    case 'alerts':
    case 'webhooks':
    case 'keys':
      return `#/${route.page}`;
    case 'open':
      return route.pilotId ? `#/open/${encodeURIComponent(route.pilotId)}` : '#/open';
  }
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const follow = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', follow);
    return () => removeEventListener('hashchange', follow);
  }, []);
  return route;
}
