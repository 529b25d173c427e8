import { pino, type Logger } from 'pino';
import { traceFields } from './tracing.js';

export type { Logger };

/**
 * JSON logs on stdout (or `destination`, where tests read them). Authorization headers and tokens are redacted wherever they appear, so a
 * careless `log.info({ req })` cannot leak a credential. With tracing on, a line written while a
 * span is active carries its `trace_id` and `span_id`.
 */
export function createLogger(
  service: string,
  level: string,
  destination?: { write(line: string): void },
): Logger {
  const options = {
    level,
    base: { service },
    redact: {
      paths: [
        'authorization',
        '*.authorization',
        'headers.authorization',
        '*.headers.authorization',
        'token',
      ],
      censor: '[redacted]',
    },
    timestamp: pino.stdTimeFunctions.isoTime,
    mixin: () => traceFields(),
  };
  return destination ? pino(options, destination) : pino(options);
}
