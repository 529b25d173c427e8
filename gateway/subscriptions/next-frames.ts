import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { writeBatched } from './batched-writes.js';

/** FIN and the text opcode: a whole message in one frame. */
const FIN_TEXT = 0x81;
const CLOSE_BRACE = 0x7d;

/**
 * Writes graphql-ws `next` messages of one subscription as pre-built WebSocket frames, consecutive
 * ones to a socket in one system call (`writeBatched`). Sent through ws, each delivery re-encoded
 * the shared payload string and wrote the frame header and body as two chunks (a corked writev);
 * here the payload is encoded once per event (every subscriber of a selection is handed the same
 * string) and only the subscription's own id is copied around it. Frames go straight to the
 * upgraded TCP socket, which is sound because the server negotiates no extension (no
 * compression): ws then writes each message synchronously and whole, so frames never interleave.
 * With an extension, messages go through ws as before.
 */
export class NextFrames {
  private static lastPayload: string | undefined;
  private static lastEncoded = Buffer.alloc(0);
  private readonly prefix: Buffer;
  /** Extensions are negotiated in the handshake, before any subscription: known once. */
  private readonly raw: Duplex | undefined;

  constructor(
    private readonly ws: WebSocket,
    raw: Duplex | undefined,
    private readonly id: string,
    /** False once nothing more may be queued: the socket closed, or its reader fell behind. */
    private readonly writable: () => boolean,
  ) {
    this.prefix = Buffer.from(`{"id":${JSON.stringify(id)},"type":"next","payload":`);
    this.raw = ws.extensions === '' ? raw : undefined;
  }

  /** Sends `{"id":…,"type":"next","payload":<payload>}` if the socket is still writable. */
  send(payload: string): void {
    const { ws, raw } = this;
    if (!this.writable()) return;
    if (!raw) {
      ws.send(`{"id":${JSON.stringify(this.id)},"type":"next","payload":${payload}}`);
      return;
    }
    writeBatched(raw, this.frame(NextFrames.encode(payload)));
  }

  /** The payload's UTF-8 bytes; the last one is kept, as the next subscriber likely sends it too. */
  private static encode(payload: string): Buffer {
    if (payload !== NextFrames.lastPayload) {
      NextFrames.lastEncoded = Buffer.from(payload);
      NextFrames.lastPayload = payload;
    }
    return NextFrames.lastEncoded;
  }

  /** An unmasked server frame (RFC 6455 §5.2) around prefix, payload and the closing brace. */
  private frame(payload: Buffer): Buffer {
    const length = this.prefix.length + payload.length + 1;
    const header = length < 126 ? 2 : length < 65_536 ? 4 : 10;
    const frame = Buffer.allocUnsafe(header + length);
    frame[0] = FIN_TEXT;
    if (header === 2) {
      frame[1] = length;
    } else if (header === 4) {
      frame[1] = 126;
      frame.writeUInt16BE(length, 2);
    } else {
      frame[1] = 127;
      frame.writeBigUInt64BE(BigInt(length), 2);
    }
    this.prefix.copy(frame, header);
    payload.copy(frame, header + this.prefix.length);
    frame[frame.length - 1] = CLOSE_BRACE;
    return frame;
  }
}
