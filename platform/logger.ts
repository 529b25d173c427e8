import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * JSON logs on stdout (or `destination`, where tests read them). Authorization headers and tokens are redacted wherever they appear, so a
 * careless `log.info({ req })` cannot leak a credential.
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
  };
  return destination ? pino(options, destination) : pino(options);
}
