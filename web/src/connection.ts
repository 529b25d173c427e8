import { useSyncExternalStore } from 'react';

/** What the status bar shows: the WebSocket's state and the browser's own idea of the network. */
export type LinkState = 'connecting' | 'online' | 'reconnecting';

let state: LinkState = 'connecting';
const listeners = new Set<() => void>();

export function setLinkState(next: LinkState): void {
  if (next === state) return;
  state = next;
  for (const listener of listeners) listener();
}

function subscribe(listener: () => void) {
  listeners.add(listener);
  window.addEventListener('online', listener);
  window.addEventListener('offline', listener);
  return () => {
    listeners.delete(listener);
    window.removeEventListener('online', listener);
    window.removeEventListener('offline', listener);
  };
}

export function useConnection(): { link: LinkState; offline: boolean } {
  const link = useSyncExternalStore(subscribe, () => state);
  const offline = useSyncExternalStore(subscribe, () => !navigator.onLine);
  return { link, offline };
}
