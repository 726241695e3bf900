// How a capture's metadata reads in a model: thread labels and the command line. Shared by the
// reference reader and the wasm engine's host, so both name things the same way.

export function threadLabel(threadId: number, name: string): string {
  return name === '' ? `thread ${threadId}` : `thread ${threadId} (${name})`;
}

/** The `commandLine` META value is a JSON array of strings; anything else is kept as one word. */
export function parseCommandLine(value: string): string[] {
  if (value === '') return [];
  try {
    const parsed: unknown = JSON.parse(value);
    if (Array.isArray(parsed)) return parsed.map(String);
  } catch {
    // not JSON: fall through
  }
  return [value];
}
