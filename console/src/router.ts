import { useEffect, useState } from 'preact/hooks';

/**
 * Pages are addressed by the URL's fragment (`#/pilots/p_1`), so the gateway
 * serves one index.html and every page can be bookmarked. Fragments hold ids
 * only: never a key.
 */
export type Route =
  | { page: 'overview' }
  | { page: 'pilots'; testbedId?: string | undefined; companyId?: string | undefined }
  | { page: 'pilot'; pilotId: string }
  | { page: 'device'; deviceId: string }
  | { page: 'keys' };

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
      return parts[1] ? { page: 'device', deviceId: parts[1] } : { page: 'overview' };
    case 'keys':
      return { page: 'keys' };
    default:
      return { page: 'overview' };
  }
}

/** The fragment that shows `route`, for links. */
export function href(route: Route): string {
  switch (route.page) {
    case 'overview':
      return '#/';
    case 'pilots': {
      const query = new URLSearchParams();
      if (route.testbedId) query.set('testbed', route.testbedId);
      if (route.companyId) query.set('company', route.companyId);
      const text = query.toString();
      return text ? `#/pilots?${text}` : '#/pilots';
    }
    case 'pilot':
      return `#/pilots/${encodeURIComponent(route.pilotId)}`;
    case 'device':
      return `#/devices/${encodeURIComponent(route.deviceId)}`;
    case 'keys':
      return '#/keys';
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
