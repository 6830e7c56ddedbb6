import { useState } from 'preact/hooks';
import { ApiError } from '../api.js';
import { ErrorBox } from './status.js';

/**
 * A button that reads a file through the API with the signed-in key and hands
 * it to the browser as a download: a plain link would need the key in its URL.
 */
export function DownloadButton({ label, fileName, load }: { label: string; fileName: string; load: () => Promise<string> }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const download = async () => {
    setBusy(true);
    setError(null);
    try {
      const url = URL.createObjectURL(new Blob([await load()], { type: 'text/csv' }));
      const a = document.createElement('a');
      a.href = url;
      a.download = fileName;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, 'CONSOLE', String(err)));
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button type="button" disabled={busy} onClick={() => void download()}>
        {busy ? 'Preparing…' : label}
      </button>
      {error && <ErrorBox error={error} />}
    </>
  );
}
