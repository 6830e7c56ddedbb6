import { useCallback, useEffect, useState } from 'preact/hooks';
import { describe, loadAccess, type Access } from './access.js';
import { session, whenUnauthorised, type ApiError } from './api.js';
import { ErrorBox } from './components/status.js';
import { Alerts } from './pages/alerts.js';
import { DevicePage } from './pages/device.js';
import { Fleet } from './pages/fleet.js';
import { Keys } from './pages/keys.js';
import { OpenData } from './pages/open-data.js';
import { Overview } from './pages/overview.js';
import { PilotPage } from './pages/pilot.js';
import { Pilots } from './pages/pilots.js';
import { SignIn } from './pages/signin.js';
import { Webhooks } from './pages/webhooks.js';
import { href, useRoute, type Route } from './router.js';

function Page({ route, access }: { route: Route; access: Access }) {
  switch (route.page) {
    case 'overview':
      return <Overview access={access} />;
    case 'pilots':
      return <Pilots access={access} testbedId={route.testbedId} companyId={route.companyId} />;
    case 'pilot':
      return <PilotPage key={route.pilotId} access={access} pilotId={route.pilotId} />;
    case 'devices':
      return <Fleet access={access} filter={route.filter} />;
    case 'device':
      return <DevicePage key={route.deviceId} access={access} deviceId={route.deviceId} />;
    case 'alerts':
      return <Alerts access={access} />;
    case 'webhooks':
      return <Webhooks access={access} />;
    case 'keys':
      return <Keys access={access} />;
    case 'open':
      return (
        <main>
          <h1>Open data</h1>
          <OpenData pilotId={route.pilotId} />
        </main>
      );
  }
}

/** The navigation entries a key is offered: each only where its role may read the page's routes. */
function links(access: Access): [Route['page'], string][] {
  const all: [Route['page'], string, string][] = [
    ['overview', 'Overview', 'GET /v1/pilots'],
    ['pilots', 'Pilots', 'GET /v1/pilots'],
    ['devices', 'Devices', 'GET /v1/devices'],
    ['alerts', 'Alerts', 'GET /v1/alerts'],
    ['webhooks', 'Webhooks', 'GET /v1/webhooks'],
    ['keys', 'Keys', 'GET /v1/keys'],
    ['open', 'Open data', 'GET /v1/datasets'],
  ];
  return all.filter(([, , operation]) => access.may(operation)).map(([page, label]) => [page, label]);
}

const SECTION: Partial<Record<Route['page'], Route['page']>> = { pilot: 'pilots', device: 'devices' };

/** The shell: the open-data catalogue and sign-in while there is no key; then the header, the navigation and the page the URL names. */
export function App() {
  const route = useRoute();
  const [signedIn, setSignedIn] = useState(() => session.key() !== null);
  const [access, setAccess] = useState<Access | null>(null);
  const [problem, setProblem] = useState<ApiError | null>(null);

  const signOut = useCallback((why: ApiError | null = null) => {
    session.signOut();
    setAccess(null);
    setSignedIn(false);
    setProblem(why);
  }, []);

  useEffect(() => whenUnauthorised((error) => signOut(error)), [signOut]);

  useEffect(() => {
    if (!signedIn) return;
    loadAccess().then(setAccess, (err: ApiError) => (err.status === 401 ? signOut(err) : setProblem(err)));
  }, [signedIn, signOut]);

  if (!signedIn)
    return (
      <>
        <header class="top">
          <a class="brand" href={href({ page: 'open' })}>
            Testbed console
          </a>
        </header>
        {problem && (
          <div class="banner">
            <ErrorBox error={problem} />
          </div>
        )}
        <SignIn
          pilotId={route.page === 'open' ? route.pilotId : undefined}
          onSignedIn={() => {
            setProblem(null);
            setSignedIn(true);
          }}
        />
      </>
    );

  const current = SECTION[route.page] ?? route.page;
  return (
    <>
      <header class="top">
        <a class="brand" href={href({ page: 'overview' })}>
          Testbed console
        </a>
        <nav aria-label="Main">
          {access &&
            links(access).map(([page, label]) => (
              <a key={page} href={`#/${page === 'overview' ? '' : page}`} aria-current={current === page ? 'page' : undefined}>
                {label}
              </a>
            ))}
        </nav>
        <span class="who">{access ? describe(access) : ''}</span>
        <button type="button" class="signout" onClick={() => signOut()}>
          Sign out
        </button>
      </header>
      {problem && (
        <div class="banner">
          <ErrorBox error={problem} />
        </div>
      )}
      {access ? <Page route={route} access={access} /> : !problem && <p class="loading">Loading…</p>}
    </>
  );
}
