import { CombinedGraphQLErrors, ServerError } from '@apollo/client';
import { useSyncExternalStore } from 'react';

/** How long a notice stays: long enough to read, gone before it is stale. */
const SHOWN_MS = 6_000;

let current: string | null = null;
let hideTimer: ReturnType<typeof setTimeout> | undefined;
const listeners = new Set<() => void>();

function show(message: string): void {
  current = message;
  clearTimeout(hideTimer);
  hideTimer = setTimeout(() => {
    current = null;
    for (const listener of listeners) listener();
  }, SHOWN_MS);
  for (const listener of listeners) listener();
}

/** The refusal's code and wait, from a GraphQL error or from the JSON body of a 429. */
function refusalOf(error: unknown): { code?: unknown; retryAfter?: unknown } {
  if (CombinedGraphQLErrors.is(error)) return error.errors[0]?.extensions ?? {};
  if (ServerError.is(error)) {
    try {
      const body = JSON.parse(error.bodyText) as { errors?: { extensions?: object }[] };
      return body.errors?.[0]?.extensions ?? {};
    } catch {
      return {};
    }
  }
  return {};
}

/**
 * Says why a write the screen had already shown (optimistically) was taken back: over the rate
 * budget, the service busy past its retries, or anything else. `what` reads as the sentence's
 * subject: "your like".
 */
export function tellNotSaved(what: string, error: unknown): void {
  const { code, retryAfter } = refusalOf(error);
  const subject = what.charAt(0).toUpperCase() + what.slice(1);
  const seconds = Number(retryAfter);
  if (code === 'RATE_LIMITED')
    show(
      `Too many actions: ${what} did not go through. Try again${seconds > 0 ? ` in ${seconds} s` : ' shortly'}.`,
    );
  else if (code === 'OVERLOADED')
    show(`Busy right now: ${what} did not go through. Try again in a moment.`);
  else show(`${subject} did not go through.`);
}

function subscribe(listener: () => void) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The latest notice, for a few seconds, at the bottom of the screen. */
export function Notice() {
  const message = useSyncExternalStore(subscribe, () => current);
  if (!message) return null;
  return (
    <p className="status notice" data-testid="notice" role="alert">
      {message}
    </p>
  );
}
