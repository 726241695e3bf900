// Search in a flame graph: which nodes match a query, and the total they account for. A match
// inside a matching subtree is not counted twice (a recursive function is counted once).
import type { CaptureModel } from './types.js';
import type { FlameLayout } from './flame-layout.js';
import type { ViewTree } from './view-tree.js';
import { frameLocation, frameName } from './frame-text.js';

export interface SearchResult {
  /** 1 for each preorder slot whose frame matches. */
  matched: Uint8Array;
  matchCount: number;
  /** Sum of widths of the outermost matches (value units of the layout). */
  total: number;
}

/** Frames whose name or location contains the query, case-insensitively. */
export function matchingFrames(model: CaptureModel, query: string): Uint8Array {
  const wanted = query.toLowerCase();
  const out = new Uint8Array(model.frames.count);
  for (let f = 0; f < model.frames.count; f++) {
    if (frameName(model, f).toLowerCase().includes(wanted) || frameLocation(model, f).toLowerCase().includes(wanted)) out[f] = 1;
  }
  return out;
}

export function searchLayout(model: CaptureModel, tree: ViewTree, layout: FlameLayout, query: string): SearchResult {
  const matched = new Uint8Array(layout.length);
  if (!query) return { matched, matchCount: 0, total: 0 };
  const frames = matchingFrames(model, query);
  let matchCount = 0;
  let total = 0;
  let coveredUntil = 0; // preorder slots before this are inside an already counted match
  for (let i = 0; i < layout.length; i++) {
    const f = tree.frame[layout.node[i]];
    if (f < 0 || !frames[f]) continue;
    matched[i] = 1;
    matchCount++;
    if (i >= coveredUntil) {
      total += layout.width[i];
      coveredUntil = layout.subtreeEnd[i];
    }
  }
  return { matched, matchCount, total };
}
