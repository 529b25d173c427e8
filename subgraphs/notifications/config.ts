import { int, readEnv } from '../../platform/env.js';

/** Settings of the notifications subgraph beside those every service reads. */
export function readNotificationsConfig(source: Record<string, string | undefined> = process.env) {
  const env = readEnv(
    {
      /** Actors an aggregated notification keeps ("bob, carol and 40 others"), newest first. */
      NOTIFICATION_ACTORS_KEPT: int(10, 1, 100),
    },
    source,
  );
  return { actorsKept: env.NOTIFICATION_ACTORS_KEPT as number };
}

export type NotificationsConfig = ReturnType<typeof readNotificationsConfig>;
