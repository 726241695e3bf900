// Writing a command's result to standard output. A reader that stops early (`| head`) closes the
// pipe: that is the reader's choice, not an error, so EPIPE ends the writing quietly. Any other
// failure (a full disk behind `> stats.json`) loses the result, so it is one line and exit status
// 1, not the silent success console.log would give. The stream reports the error twice (the write
// callback, then an 'error' event a tick later): the listener stays.
import { cannotWrite } from './write-failure.js';

/** Writes the pieces one after another, each once the one before has gone; stops at EPIPE. */
export async function writeStdoutPieces(pieces: Iterable<string | Uint8Array>, stream: NodeJS.WriteStream = process.stdout): Promise<void> {
  let readerGone = false;
  let failure: NodeJS.ErrnoException | undefined;
  const onError = (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') readerGone = true;
    else failure ??= error;
  };
  stream.on('error', onError);
  for (const piece of pieces) {
    await new Promise<void>((done) => stream.write(piece, (error) => {
      if (error) onError(error as NodeJS.ErrnoException);
      done();
    }));
    if (failure) throw cannotWrite('standard output', failure);
    if (readerGone) return;
  }
}

/** The text and a newline, as console.log would print it, but with write failures reported. */
export function writeStdoutLine(text: string, stream: NodeJS.WriteStream = process.stdout): Promise<void> {
  return writeStdoutPieces([`${text}\n`], stream);
}
