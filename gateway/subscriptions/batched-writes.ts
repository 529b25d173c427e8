import type { Writable } from 'node:stream';

/** The stream the last batched write went to, corked until a write goes elsewhere. */
let corked: Writable | undefined;

function release(): void {
  corked?.uncork();
  corked = undefined;
}

/**
 * Writes `chunk` to `stream`; consecutive writes to one stream leave in one system call, which
 * costs more than framing the messages. The stream is corked at the first write and uncorked as
 * soon as a write goes to another stream, or when this turn of the event loop ends, so a fan-out
 * sends to each connection as it goes. A beat of the post counts pushes every busy post a client
 * watches one after the other (`PostCountsHub`), so the client gets them in one write. Order is
 * kept: anything else written meanwhile queues behind the cork too.
 */
export function writeBatched(stream: Writable, chunk: Buffer | string): void {
  if (stream !== corked) {
    if (corked) corked.uncork();
    else process.nextTick(release);
    stream.cork();
    corked = stream;
  }
  stream.write(chunk);
}
