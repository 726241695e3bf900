// The aggregated model of one capture: what the decoder (wasm engine, or the TypeScript reference
// reader) produces and what every consumer (terminal reporters, viewer, HTML reports) reads.
// Plain data only: typed arrays and strings, so it can be posted to/from a worker and serialised
// into a report. Functions over it live beside this file, one idea each.

/** What a frame is, for colouring and for the "hide" toggles. */
export const FrameKind = {
  /** JavaScript of the profiled program itself. */
  UserJs: 0,
  /** JavaScript under a node_modules directory. */
  NodeModules: 1,
  /** node's own JavaScript (`node:` scripts, module loading). */
  NodeInternal: 2,
  /** Native C/C++ frame (node, libuv, addons, libc...). */
  Native: 3,
  /** V8 builtins, stubs, GC. */
  V8: 4,
  /** Synthetic per-thread root: the first level under the root when threads are split. */
  Thread: 5,
} as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

/** One row per distinct frame (function + location). Strings are indices into `strings`. */
export interface FrameTable {
  count: number;
  functionName: Int32Array; // string index
  file: Int32Array; // string index (script path/URL, or native library path); 0 = unknown
  line: Int32Array; // 1-based; 0 = unknown
  column: Int32Array; // 1-based; 0 = unknown
  kind: Uint8Array; // FrameKind
}

/**
 * The call tree of every stack seen, split by thread. Node 0 is the root; its children are one
 * `FrameKind.Thread` node per thread; below them, frames from the outermost (e.g. node::Start or
 * the script's top level) to the innermost (the caller of the allocator).
 * `parent[i] < i` for every i > 0 (a parent is always created before its children).
 */
export interface CallTree {
  count: number;
  parent: Int32Array; // parent[0] = -1
  frame: Int32Array; // index into FrameTable; -1 for the root
}

/** Self (exclusive) values per call-tree node for one view. Totals are derived (model functions). */
export interface NodeMetrics {
  bytes: Float64Array;
  count: Float64Array;
}

export interface ThreadInfo {
  id: number; // kernel tid
  name: string; // "main", a worker's name, "libuv-worker", ... or "" when unknown
  allocations: number;
}

export interface CaptureMeta {
  formatVersion: number;
  pid: number;
  commandLine: string[];
  nodeVersion: string;
  startTimeUnixMs: number;
  durationMs: number;
  pageSize: number;
  mainThreadId: number;
  nativeFrames: boolean; // captured with --native
  truncated: boolean; // the capture ended without its trailer (process killed)
  /** Why tracing ended: "exit", "stopped", or the signal the program died of ("SIGABRT"); '' when unknown. */
  endReason: string;
  /**
   * The native frames of a truncated capture were named after its process died (`memview run` or
   * `memview symbolize`, META framesNamedAfterwards); absent in models made before it was read.
   */
  framesNamedAfterwards?: boolean;
  /**
   * Data chunks read whole. A truncated capture with none was cut before its first chunk ended: it
   * holds no events, not even the META records (pid, command line). Absent in older models.
   */
  dataChunks?: number;
  /** Traced with `memview run --no-inlining`: V8 inlined no function, every frame is its own. */
  inliningOff?: boolean;
  /** The trailer's checksum did not match its bytes: read as truncated (every data chunk before it whole). */
  trailerDamaged?: boolean;
}

export interface Timeline {
  /** Sample times in ms since start; decimated with min/max per bucket so peaks survive. */
  timeMs: Float64Array;
  /**
   * Tracked memory (heap + accessible mappings): the most of it from each sample's time to the
   * next sample's, so the sample at the peak's time reads the peak.
   */
  trackedBytes: Float64Array;
  /** Heap only (malloc family + operator new), the most of it over the same interval. */
  heapBytes: Float64Array;
  rssBytes: Float64Array;
}

export interface AllocatorFigure {
  count: number;
  bytes: number;
}

export interface LocationFigure {
  function: string;
  file: string;
  line: number;
  bytes: number;
  count: number;
}

/** The `memview stats --json` contract (docs/cli.md). */
export interface CaptureStats {
  totalAllocations: number;
  totalBytesAllocated: number;
  peakBytes: number;
  peakHeapBytes: number;
  peakTimeMs: number;
  leakedBytes: number;
  leakedAllocations: number;
  peakRssBytes: number;
  durationMs: number;
  allocators: Record<string, AllocatorFigure>;
  sizeHistogram: { minBytes: number; maxBytes: number; count: number }[];
  topByBytes: LocationFigure[];
  topByCount: LocationFigure[];
  threads: ThreadInfo[];
  truncated: boolean;
  /** CaptureMeta.endReason: "exit", "stopped", or the signal the program died of. */
  endReason: string;
  /**
   * Share (0–1) of the allocations made with optimized (TurboFan) JavaScript on their stack, where
   * V8 may have inlined functions into their callers (docs/collector.md); absent in older models.
   */
  allocationsInOptimizedJs?: number;
}

export interface CaptureModel {
  modelVersion: 1;
  meta: CaptureMeta;
  strings: string[]; // index 0 is ""
  frames: FrameTable;
  tree: CallTree;
  views: {
    /** Live at the moment tracked memory was highest (high-water mark). */
    peak: NodeMetrics;
    /** Still live at the end. */
    leaks: NodeMetrics;
    /** Freed within `temporaryThreshold` later allocations on the same thread. */
    temporary: NodeMetrics;
    /** Everything ever allocated. */
    allocated: NodeMetrics;
  };
  temporaryThreshold: number;
  timeline: Timeline;
  stats: CaptureStats;
}
