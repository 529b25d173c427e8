import { overloaded } from './errors.js';
import type { Metrics } from './metrics.js';

/** `WRITES_MAX_IN_FLIGHT`'s default: above the bursts a process meets in normal use (the tests' 200). */
export const DEFAULT_WRITES_MAX_IN_FLIGHT = 256;

/**
 * Bounds a process's writes in flight. Beyond `maxInFlight` a write is refused at once with
 * OVERLOADED, before it reads or writes anything, so that a storm of writes (thousands of likes a
 * second on one post) cannot take the whole process, and the database behind it, from reads; the
 * client learns to come back in `retryAfterSeconds` instead of waiting in a queue it cannot see.
 * Each refusal is counted in `writes_refused_total`.
 */
export function writeAdmission(maxInFlight: number, metrics: Metrics, retryAfterSeconds = 1) {
  let inFlight = 0;
  return {
    async run<T>(write: () => Promise<T>): Promise<T> {
      if (inFlight >= maxInFlight) {
        metrics.writesRefused.inc();
        throw overloaded(retryAfterSeconds);
      }
      inFlight++;
      try {
        return await write();
      } finally {
        inFlight--;
      }
    },
  };
}

export type WriteAdmission = ReturnType<typeof writeAdmission>;
