import { useEffect, useState } from 'react';
import { useSession } from '../session.tsx';

const BACK_SHOWN_MS = 4000;

/** "Lost" while the socket reconnects; "back" for a few seconds after. Always in the page, so screen readers hear changes. */
export function ConnectionBanner() {
  const { connection } = useSession();
  const [showBack, setShowBack] = useState(false);
  useEffect(() => {
    if (connection !== 'restored') return setShowBack(false);
    setShowBack(true);
    const timer = setTimeout(() => setShowBack(false), BACK_SHOWN_MS);
    return () => clearTimeout(timer);
  }, [connection]);
  const text = connection === 'lost' ? '연결이 끊겼습니다. 다시 연결하는 중…' : showBack ? '다시 연결되었습니다' : '';
  return (
    <div role="status" className={`banner ${connection === 'lost' ? 'lost' : showBack ? 'back' : 'hidden'}`}>
      {text}
    </div>
  );
}
