import type { Logger } from '../../platform/logger.js';
import type { Metrics } from '../../platform/metrics.js';

/**
 * How long a connection that was cut off may still take to read its backlog and the goodbye
 * queued behind it (a close frame, a last part) before its socket is destroyed: ws's own closing
 * timeout, used by the multipart transport too.
 */
export const CUT_OFF_GRACE_MS = 30_000;

export type StreamingTransport = 'websocket' | 'multipart';

export interface SlowReadersOptions {
  /** Bytes one connection may leave unsent (`STREAM_MAX_BUFFERED_BYTES`). */
  maxBufferedBytes: number;
  metrics: Metrics;
  logger: Logger;
}

/**
 * The bound on what a streaming connection may leave unsent. Pushes are written as events come,
 * whatever the client reads, so a client that stops reading (a frozen tab, a mobile link TCP has
 * not yet given up on) would have this process hold every later event for it. Each transport
 * asks before it queues anything; past the bound it cuts the connection off and queues nothing
 * more, so a connection holds at most the bound plus one answer (`MAX_RESPONSE_BYTES`).
 */
export class SlowReaders {
  constructor(private readonly options: SlowReadersOptions) {}

  get maxBufferedBytes(): number {
    return this.options.maxBufferedBytes;
  }

  /**
   * Whether a connection with `buffered` bytes waiting must be cut off; if so, counted and
   * logged. The caller cuts it off and asks no more, so each cut is counted once.
   */
  fellBehind(
    transport: StreamingTransport,
    buffered: number,
    who: { ip: string; user?: string },
  ): boolean {
    if (buffered <= this.options.maxBufferedBytes) return false;
    this.options.metrics.slowReaders.inc({ transport });
    this.options.logger.warn(
      { transport, buffered, limit: this.options.maxBufferedBytes, ...who },
      'slow reader cut off',
    );
    return true;
  }
}
