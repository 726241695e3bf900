// The one error a capture reader throws: where in the file it went wrong, in one line.

export class CaptureError extends Error {
  /** File offset (bytes from the start of the file) of the problem, or of the chunk holding it. */
  readonly offset: number;
  /** Index of the chunk (0 = first chunk after the header), or -1 for the file header. */
  readonly chunk: number;

  constructor(message: string, offset: number, chunk: number) {
    super(message);
    this.name = 'CaptureError';
    this.offset = offset;
    this.chunk = chunk;
  }
}

/**
 * A problem found inside one decoded payload, before the chunk reader knows where that payload
 * sits in the file. The caller wraps it into a CaptureError with the file position.
 */
export class PayloadError extends Error {
  /** Byte position inside the payload (the decompressed payload for an LZ4 chunk). */
  readonly position: number;

  constructor(message: string, position: number) {
    super(message);
    this.name = 'PayloadError';
    this.position = position;
  }
}
