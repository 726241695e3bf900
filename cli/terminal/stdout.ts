// Writing an export to standard output. A reader that stops early (`| head`) closes the pipe: that
// is the reader's choice, not an error, so EPIPE ends the writing quietly. The stream reports the
// error twice (the write callback, then an 'error' event a tick later): the listener stays.

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
    if (failure) throw failure;
    if (readerGone) return;
  }
}
