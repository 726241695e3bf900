// Follows a capture while the traced program still writes it (`memview live`): new bytes are read
// as they reach the file (the collector flushes a chunk at least every 250 ms), decoded chunk by
// chunk with the reference reader's pieces into one CaptureAggregator, and `snapshot()` turns what
// has been read so far into a CaptureModel whose "leaks" view is what is live right now.
import { open, type FileHandle } from 'node:fs/promises';
import type { CaptureModel } from '../../viewer/model/types.js';
import { ByteStream } from './reader/byte-stream.js';
import { CaptureAggregator } from './reader/capture-aggregator.js';
import { HeapBlockNames } from './reader/heap-block-names.js';
import { readCaptureHeader, readChunks, type CaptureHeader } from './reader/chunk-reader.js';
import { ChunkKind } from './reader/format.js';
import { decodeRecords } from './reader/record-decoder.js';

const POLL_INTERVAL_MS = 100;
const READ_PIECE_BYTES = 1 << 20;

export interface LiveFigures {
  /** Time of the last TIME record, ms since the capture started. */
  timeMs: number;
  rssBytes: number;
  /** Chunks decoded so far. */
  chunks: number;
  /** The trailer was read: the program stopped tracing. */
  ended: boolean;
}

export class CaptureTail {
  private readonly aggregator: LiveAggregator;
  private header: CaptureHeader | undefined;
  private stopping = false;
  private readonly done: Promise<void>;
  readonly figures: LiveFigures = { timeMs: 0, rssBytes: 0, chunks: 0, ended: false };
  /** Set when reading failed (a damaged capture); the tail stops. */
  error: Error | undefined;

  constructor(readonly path: string, temporaryThreshold = 1) {
    this.aggregator = new LiveAggregator(temporaryThreshold, this.figures);
    this.done = this.follow().catch((error: Error) => { this.error = error; });
  }

  /** Reads what is left in the file, then stops following it. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.done;
  }

  get started(): boolean {
    return this.header !== undefined;
  }

  /** Everything read so far as a model; its `leaks` view is the memory live now. */
  snapshot(): CaptureModel | undefined {
    if (!this.header) return undefined;
    return this.aggregator.finish({
      formatVersion: this.header.formatVersion, flags: this.header.flags, truncated: !this.figures.ended, endTimeNs: undefined,
      dataChunks: this.figures.chunks,
    });
  }

  private async follow(): Promise<void> {
    const stream = new ByteStream(this.growingFile());
    this.header = await readCaptureHeader(stream);
    const blocks = new HeapBlockNames(this.header.formatVersion);
    for await (const chunk of readChunks(stream)) {
      if (chunk.kind === ChunkKind.Trailer) {
        this.figures.ended = true;
        this.stopping = true;
        continue;
      }
      decodeRecords(chunk.payload, this.aggregator, blocks);
      this.figures.chunks++;
    }
  }

  /** The file's bytes as they are written; waits for the file to appear and to grow until stopped. */
  private async *growingFile(): AsyncGenerator<Uint8Array> {
    let file: FileHandle | undefined;
    try {
      while (!file) {
        try {
          file = await open(this.path, 'r');
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || this.stopping) throw error;
          await sleep(POLL_INTERVAL_MS);
        }
      }
      let position = 0;
      for (;;) {
        const buffer = new Uint8Array(READ_PIECE_BYTES);
        const { bytesRead } = await file.read(buffer, 0, buffer.length, position);
        if (bytesRead > 0) {
          position += bytesRead;
          yield buffer.subarray(0, bytesRead);
          continue;
        }
        if (this.stopping) return;
        await sleep(POLL_INTERVAL_MS);
      }
    } finally {
      await file?.close();
    }
  }
}

/** The reference aggregation, noting the latest time and RSS on the way. */
class LiveAggregator extends CaptureAggregator {
  constructor(temporaryThreshold: number, private readonly figures: LiveFigures) {
    super(temporaryThreshold);
  }

  override time(timeNs: number): void {
    this.figures.timeMs = timeNs / 1e6;
    super.time(timeNs);
  }

  override rss(rssBytes: number): void {
    this.figures.rssBytes = rssBytes;
    super.rss(rssBytes);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
