import { useCallback, useState } from 'react';

/** Runs one click's request at a time; a failure becomes a message to show (role="alert"). */
export function useAction(): { busy: boolean; error: string | undefined; run(task: () => Promise<string | undefined>): Promise<void> } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const run = useCallback(async (task: () => Promise<string | undefined>) => {
    setBusy(true);
    setError(undefined);
    try {
      setError(await task());
    } catch {
      setError('서버에 연결할 수 없습니다');
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, run };
}
