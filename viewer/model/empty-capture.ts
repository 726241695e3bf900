// A truncated capture cut before its first chunk ended holds no events, not even the META records
// (pid, command line, node version): a report of it would be placeholders and an empty chart. The
// page shows this one line instead.
import type { CaptureMeta } from './types.js';
import { formatCount } from './frame-text.js';

/** Why there is nothing to show, or null when the capture holds a complete chunk (or says nothing). */
export function noCompleteChunkMessage(meta: CaptureMeta, captureName = 'This capture', captureBytes?: number): string | null {
  if (!meta.truncated || meta.dataChunks !== 0) return null;
  const cut = captureBytes === undefined ? 'it was cut' : `it was cut at byte ${formatCount(captureBytes)}`;
  return `${captureName} holds no complete chunk of events (${cut}, before its first chunk ended): `
    + 'the program was killed within its first moments, or the file was cut short. There is nothing to show.';
}
