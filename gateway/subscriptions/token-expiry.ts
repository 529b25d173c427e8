import type { Viewer } from '../../platform/auth.js';

/** setTimeout's ceiling: a token valid for longer is re-checked no later than this. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Calls `expire` when the viewer's token expires, whatever the transport holding it open: a
 * long-lived connection must not outlive the token that opened it. Returns the cancel.
 */
export function onTokenExpiry(viewer: Viewer, expire: () => void): () => void {
  if (viewer.expiresAt === undefined) return () => undefined;
  const ms = Math.min(viewer.expiresAt * 1_000 - Date.now(), MAX_TIMER_MS);
  const timer = setTimeout(expire, Math.max(ms, 0));
  return () => clearTimeout(timer);
}
