import { useConnection } from './connection';

/** Offline and reconnecting are said out loud: live counts are not live while either lasts. */
export function StatusBar() {
  const { link, offline } = useConnection();
  if (offline)
    return (
      <p className="status offline" data-testid="status" role="status">
        You are offline. Counts will catch up when you are back.
      </p>
    );
  if (link === 'reconnecting')
    return (
      <p className="status reconnecting" data-testid="status" role="status">
        Reconnecting…
      </p>
    );
  return <p className="status ok" data-testid="status" role="status" data-state={link} />;
}
