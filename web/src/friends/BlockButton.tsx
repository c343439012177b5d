import { useState } from 'react';
import { useSession } from '../session.tsx';
import { describeError } from '../ui/errors.ts';
import { useAction } from '../ui/useAction.ts';

/** Blocking ends the friendship, so it asks once more inline (no modal dialog). */
export function BlockButton({ userId, name, onChanged }: { userId: number; name: string; onChanged(): void }) {
  const { api } = useSession();
  const action = useAction();
  const [confirming, setConfirming] = useState(false);
  if (!confirming)
    return (
      <button type="button" className="small danger" aria-label={`${name} 차단`} onClick={() => setConfirming(true)}>
        차단
      </button>
    );
  return (
    <span className="confirm" role="group" aria-label={`${name} 차단 확인`}>
      <span>차단할까요?</span>
      <button
        type="button"
        className="small danger"
        aria-label={`${name} 차단 확인`}
        disabled={action.busy}
        onClick={() =>
          action.run(async () => {
            const { error } = await api.POST('/api/blocks', { body: { user_id: userId } });
            setConfirming(false);
            onChanged();
            return describeError(error, '차단');
          })
        }
      >
        확인
      </button>
      <button type="button" className="small" onClick={() => setConfirming(false)}>
        아니요
      </button>
      {action.error && <span role="alert" className="form-error">{action.error}</span>}
    </span>
  );
}
