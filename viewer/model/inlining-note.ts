// What a reader of a profile should know when much of it ran in optimized JavaScript: TurboFan
// inlines small functions into their callers, and an allocation made in an inlined function
// shows under its caller (docs/collector.md). Shown by `memview stats` and the viewer's stats.
import type { CaptureMeta, CaptureStats } from './types.js';

/** From this share of the allocations under optimized JavaScript on, the note is shown. */
export const INLINING_NOTE_SHARE = 0.1;

/** The note for this capture, or undefined when it needs none (or was made with --no-inlining). */
export function inliningNote(stats: Pick<CaptureStats, 'allocationsInOptimizedJs'>, meta: Pick<CaptureMeta, 'inliningOff'>): string | undefined {
  const share = stats.allocationsInOptimizedJs ?? 0;
  if (meta.inliningOff || share < INLINING_NOTE_SHARE) return undefined;
  return `${Math.round(share * 100)}% of the allocations were made under optimized JavaScript, where V8 inlines small ` +
    'functions into their callers: an inlined function\'s allocations show under its caller, at a line that may be ' +
    'wrong. \'memview run --no-inlining\' keeps every function\'s frame.';
}
