// A mistake in how memview was called (unknown command or flag, missing argument): the CLI prints
// the message and the usage line and exits with status 2.
export class UsageError extends Error {
  constructor(message: string, readonly usage?: string) {
    super(message);
  }
}

/** A failure the user can act on (missing file, corrupt capture...): one line, exit status 1. */
export class UserFacingError extends Error {}

/** Says what went wrong with a command and returns its exit status; any other error goes on up. */
export function exitStatusOfFailure(error: unknown): number {
  if (process.env.MEMVIEW_DEBUG === '1') console.error(error);
  if (error instanceof UsageError) {
    console.error(`memview: ${error.message}`);
    if (error.usage) console.error(`usage: ${error.usage}`);
    return 2;
  }
  if (error instanceof UserFacingError) {
    console.error(`memview: ${error.message}`);
    return 1;
  }
  throw error;
}

/** Levenshtein distance, for "did you mean" suggestions. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(word, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}
