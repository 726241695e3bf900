// Writing a whole export to standard output. A reader that stops early (`| head`) closes the pipe:
// that is the reader's choice, not an error, so EPIPE ends the write quietly. The stream reports
// the error twice (the write callback, then an 'error' event a tick later): the listener stays.

export function writeStdout(data: string | Uint8Array, stream: NodeJS.WriteStream = process.stdout): Promise<void> {
  return new Promise((done, fail) => {
    const onError = (error: NodeJS.ErrnoException) => (error.code === 'EPIPE' ? done() : fail(error));
    stream.on('error', onError);
    stream.write(data, (error) => (error ? onError(error as NodeJS.ErrnoException) : done()));
  });
}
