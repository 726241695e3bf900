// Live mode across processes: `memview run --live-remote --port P` serves the capture it is writing,
// byte for byte as it grows, on 127.0.0.1:P; `memview live --port P` receives it into a local file
// and follows that file like any other capture being written. The stream is the capture file
// itself, so nothing about the format changes and a receiver that connects late still gets
// everything from the header on.
import { closeSync, createWriteStream, existsSync, openSync, readSync, statSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';

const POLL_INTERVAL_MS = 50;
/** How long the end of a capture waits for slow receivers before it drops them. */
const FINISH_GRACE_MS = 5000;
const PIECE_BYTES = 1 << 20;

export interface CaptureServer {
  /** Resolves once the server listens. */
  readonly listening: Promise<void>;
  /** The capture is complete: send what is left to every receiver, then close. */
  finish(): Promise<void>;
}

/**
 * Serves the capture file to every receiver that connects. `pathOf` names the file once it is
 * known (the launcher learns the traced pid only when the program starts); until then, and until
 * the file exists, receivers wait.
 */
export function serveGrowingCapture(pathOf: () => string | undefined, port: number, host = '127.0.0.1'): CaptureServer {
  let finished = false;
  const senders = new Set<Promise<void>>();
  const sockets = new Set<Socket>();

  const send = async (socket: Socket): Promise<void> => {
    let offset = 0;
    const buffer = Buffer.alloc(PIECE_BYTES);
    socket.on('error', () => socket.destroy());
    while (!socket.destroyed) {
      const wasFinished = finished;
      const path = pathOf();
      const size = path !== undefined && existsSync(path) ? statSync(path).size : 0;
      if (size > offset) {
        const descriptor = openSync(path!, 'r');
        try {
          while (offset < size && !socket.destroyed) {
            const length = readSync(descriptor, buffer, 0, Math.min(PIECE_BYTES, size - offset), offset);
            if (length <= 0) break;
            offset += length;
            if (!socket.write(Buffer.from(buffer.subarray(0, length)))) {
              await new Promise((drained) => socket.once('drain', drained));
            }
          }
        } finally {
          closeSync(descriptor);
        }
      } else if (wasFinished) {
        break;
      } else {
        await new Promise((wait) => setTimeout(wait, POLL_INTERVAL_MS));
      }
    }
    await new Promise<void>((closed) => socket.end(closed));
  };

  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    const sending = send(socket).finally(() => senders.delete(sending));
    senders.add(sending);
  });
  const listening = new Promise<void>((ready, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => ready());
  });
  return {
    listening,
    async finish() {
      finished = true;
      let grace: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(senders), new Promise((late) => { grace = setTimeout(late, FINISH_GRACE_MS); })]);
      clearTimeout(grace);
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((closed) => server.close(() => closed()));
    },
  };
}

export interface CaptureReceiver {
  /** Resolves when the sender has sent the whole capture and closed the connection. */
  readonly done: Promise<void>;
  close(): void;
}

/** Connects to a capture server and writes what it sends into `path`. */
export async function receiveCapture(port: number, path: string, host = '127.0.0.1'): Promise<CaptureReceiver> {
  const socket = createConnection({ port, host });
  await new Promise<void>((connected, fail) => {
    socket.once('connect', connected);
    socket.once('error', fail);
  });
  const file = createWriteStream(path);
  socket.pipe(file);
  const done = new Promise<void>((finished, fail) => {
    file.once('finish', finished);
    socket.once('error', fail);
  });
  return { done, close: () => socket.destroy() };
}
