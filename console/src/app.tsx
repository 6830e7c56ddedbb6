import { useCallback, useEffect, useState } from 'preact/hooks';
import { describe, loadAccess, type Access } from './access.js';
import { session, whenUnauthorised, type ApiError } from './api.js';
import { ErrorBox } from './components/status.js';
import { DevicePage } from './pages/device.js';
import { Keys } from './pages/keys.js';
import { Overview } from './pages/overview.js';
import { PilotPage } from './pages/pilot.js';
import { Pilots } from './pages/pilots.js';
import { SignIn } from './pages/signin.js';
import { href, useRoute, type Route } from './router.js';

function Page({ route, access }: { route: Route; access: Access }) {
  switch (route.page) {
    case 'overview':
      return <Overview access={access} />;
    case 'pilots':
      return <Pilots access={access} testbedId={route.testbedId} companyId={route.companyId} />;
    case 'pilot':
      return <PilotPage key={route.pilotId} access={access} pilotId={route.pilotId} />;
    case 'device':
      return <DevicePage key={route.deviceId} access={access} deviceId={route.deviceId} />;
    case 'keys':
      return <Keys access={access} />;
  }
}

/** The shell: sign-in while there is no key, then the header, the navigation and the page the URL names. */
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
          <span class="brand">Testbed console</span>
        </header>
        {problem && (
          <div class="banner">
            <ErrorBox error={problem} />
          </div>
        )}
        <SignIn
          onSignedIn={() => {
            setProblem(null);
            setSignedIn(true);
          }}
        />
      </>
    );

  const current = route.page === 'pilot' || route.page === 'device' ? 'pilots' : route.page;
  return (
    <>
      <header class="top">
        <a class="brand" href={href({ page: 'overview' })}>
          Testbed console
        </a>
        <nav aria-label="Main">
          <a href={href({ page: 'overview' })} aria-current={current === 'overview' ? 'page' : undefined}>
            Overview
          </a>
          <a href={href({ page: 'pilots' })} aria-current={current === 'pilots' ? 'page' : undefined}>
            Pilots
          </a>
          {access?.mayListKeys && (
            <a href={href({ page: 'keys' })} aria-current={current === 'keys' ? 'page' : undefined}>
              Keys
            </a>
          )}
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
