import { createContext, useContext } from 'react';

/** Which room is open; any view can open one (a friend's direct room, a notification's room). */
export interface Navigation {
  roomId: number | undefined;
  openRoom(roomId: number): void;
  closeRoom(): void;
}

export const NavigationContext = createContext<Navigation | undefined>(undefined);

export function useNavigation(): Navigation {
  const navigation = useContext(NavigationContext);
  if (!navigation) throw new Error('useNavigation outside <NavigationContext>');
  return navigation;
}
