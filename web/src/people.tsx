import { createContext, type ReactNode, useContext, useEffect, useMemo, useRef, useState } from 'react';
import { type User, useSession } from './session.tsx';

type People = ReadonlyMap<number, User>;

interface PeopleCache {
  people: People;
  want(ids: readonly number[]): void;
}

const PeopleContext = createContext<PeopleCache | undefined>(undefined);

/** The name to show for a user: display name, else username. */
export function nameOf(user: { display_name: string | null; username: string } | undefined, fallback = '알 수 없는 사용자'): string {
  return user ? user.display_name || user.username : fallback;
}

/** Users by id (for notifications and the like), fetched in batches of what is not known yet. */
export function PeopleProvider({ children }: { children: ReactNode }) {
  const { api } = useSession();
  const [people, setPeople] = useState<People>(new Map());
  const asked = useRef(new Set<number>());

  const value = useMemo<PeopleCache>(
    () => ({
      people,
      want(ids) {
        const missing = [...new Set(ids)].filter((id) => !asked.current.has(id)).slice(0, 100);
        if (missing.length === 0) return;
        for (const id of missing) asked.current.add(id);
        api
          .GET('/api/users', { params: { query: { ids: missing.join(',') } } })
          .then(({ data }) => {
            if (data) setPeople((current) => new Map([...current, ...data.map((user): [number, User] => [user.id, user])]));
          })
          .catch(() => {
            for (const id of missing) asked.current.delete(id);
          });
      },
    }),
    [api, people],
  );
  return <PeopleContext.Provider value={value}>{children}</PeopleContext.Provider>;
}

/** The users of these ids that are known (asks for the others). */
export function usePeople(ids: readonly number[]): People {
  const cache = useContext(PeopleContext);
  if (!cache) throw new Error('usePeople outside <PeopleProvider>');
  const key = ids.join(',');
  const { want } = cache;
  useEffect(() => want(key ? key.split(',').map(Number) : []), [key, want]);
  return cache.people;
}
