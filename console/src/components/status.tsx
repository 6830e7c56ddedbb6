import type { ComponentChildren } from 'preact';
import type { ApiError } from '../api.js';
import type { Loaded } from '../load.js';

/** An API error as the API worded it, with its code for a support request. */
export function ErrorBox({ error }: { error: ApiError }) {
  return (
    <div class="error" role="alert">
      <strong>{error.message}</strong>
      <span class="code">{error.code}</span>
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}

/** Shows a load's answer with `children`, or that it is loading, or its error. */
export function Show<T>({ loaded, children }: { loaded: Loaded<T>; children: (data: T) => ComponentChildren }) {
  if (loaded.state === 'loading')
    return (
      <p class="loading" aria-busy="true">
        Loading…
      </p>
    );
  if (loaded.state === 'failed') return <ErrorBox error={loaded.error} />;
  return <>{children(loaded.data)}</>;
}
