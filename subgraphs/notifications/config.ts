import { int, readEnv } from '../../platform/env.js';

/** Settings of the notifications subgraph beside those every service reads. */
export function readNotificationsConfig(source: Record<string, string | undefined> = process.env) {
  const env = readEnv(
    {
      /** Actors an aggregated notification keeps ("bob, carol and 40 others"), newest first. */
      NOTIFICATION_ACTORS_KEPT: int(10, 1, 100),
      /** At most one batch of each topic per this many ms: a viral post's notification is
       * written at most 1000 / this times a second, however many likes arrive. */
      NOTIFICATION_BATCH_INTERVAL_MS: int(200, 0, 5_000),
    },
    source,
  );
  return {
    actorsKept: env.NOTIFICATION_ACTORS_KEPT as number,
    batchIntervalMs: env.NOTIFICATION_BATCH_INTERVAL_MS as number,
  };
}

export type NotificationsConfig = ReturnType<typeof readNotificationsConfig>;
