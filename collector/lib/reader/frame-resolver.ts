// Turns the program counters of STACK records into frames, using the dictionaries known at the
// moment the stack node is defined (docs/capture-format.md, "Stacks"): code objects for
// JavaScript, module segments for native code. Native names come from SYMBOL records, which the
// collector writes at the end of a clean run, so a native frame stays *pending* (pc + module)
// until `finish`, and frames are interned twice: provisionally while reading, finally at the end.
import { FrameKind, type FrameTable } from '../../../viewer/model/types.js';
import { parseCodeName, readableScript, scriptKind } from './code-name.js';
import { IntervalMap } from './interval-map.js';
import type { CodeAdd, CodePosition, ModuleRecord } from './record-decoder.js';
import { StringTable } from './string-table.js';

const WASM_CODE_TYPE = 2;
const ANONYMOUS = '(anonymous)';

export interface FrameDescription {
  functionName: string;
  file: string;
  line: number;
  column: number;
  kind: FrameKind;
}

type ProvisionalFrame =
  | { type: 'resolved'; frame: FrameDescription; functionKey?: string; optimized?: boolean }
  | { type: 'native'; pc: number; modulePath: string; loadBias: number }
  | { type: 'unknown'; pc: number }
  | { type: 'thread'; threadId: number };

interface CodeObject {
  functionName: string;
  file: string;
  line: number;
  column: number;
  kind: FrameKind;
  positions: CodePosition[];
  /** node's own function without a name here: where it starts, to take its name from another isolate. */
  functionKey?: string;
  /** Optimized by TurboFan: functions may be inlined into it. */
  optimized: boolean;
}

interface LoadedModule {
  path: string;
  loadBias: number;
}

interface NativeSymbol {
  functionName: string;
  file: string;
  line: number;
}

export class FrameResolver {
  /** The capture's STRING records, by id. */
  readonly captureStrings = new StringTable();
  private readonly codeObjects = new IntervalMap<CodeObject>();
  private readonly moduleSegments = new IntervalMap<LoadedModule>();
  private readonly symbolsByPc = new Map<number, NativeSymbol>();
  private readonly provisionalFrames: ProvisionalFrame[] = [];
  private readonly provisionalIdByKey = new Map<string, number>();
  /**
   * pcs that no code object or module covered when their stack node was defined (provisional id
   * by pc). The first code object or module covering one before the next STACK_RESET names it: the
   * collector lists the code that existed when it connected to V8, then resets, so stacks interned
   * while node booted get their names that way; and a library's constructors allocate inside
   * dlopen, before the collector writes the library's MODULE record.
   */
  private readonly unnamedPcs = new Map<number, number>();
  /**
   * Names of node's own functions by where they start. A worker's isolate compiles node's modules
   * from the code cache, and V8 names some of their functions (`Module._load`, whose name is
   * inferred from the assignment) only in the main isolate: the same function is named from there.
   */
  private readonly internalFunctionNames = new Map<string, string>();

  addCode(code: CodeAdd): void {
    const codeName = this.captureStrings.get(code.nameRef);
    const script = this.captureStrings.get(code.scriptRef);
    const parsed = parseCodeName(codeName, script);
    const file = readableScript(script !== '' ? script : parsed.file);
    let kind: FrameKind = FrameKind.V8;
    if (parsed.isJavaScript) kind = scriptKind(file);
    else if (code.codeType === WASM_CODE_TYPE) kind = FrameKind.UserJs;
    const codeObject: CodeObject = {
      functionName: parsed.functionName,
      file: parsed.isJavaScript ? file : '',
      line: code.line !== 0 ? code.line : parsed.line,
      column: code.line !== 0 ? code.column : parsed.column,
      kind,
      positions: code.positions,
      optimized: parsed.optimized,
    };
    if (kind === FrameKind.NodeInternal) {
      const functionKey = `${codeObject.file}\0${codeObject.line}\0${codeObject.column}`;
      if (codeObject.functionName !== ANONYMOUS) this.internalFunctionNames.set(functionKey, codeObject.functionName);
      else codeObject.functionKey = functionKey;
    }
    // A later code object over the same memory replaces the earlier one (V8 reused it).
    this.codeObjects.removeOverlapping(code.start, code.start + code.sizeBytes);
    this.codeObjects.insert(code.start, code.start + code.sizeBytes, codeObject);
    for (const [pc, id] of this.unnamedPcs) {
      const callSite = pc - 1;
      if (callSite < code.start || callSite >= code.start + code.sizeBytes) continue;
      this.provisionalFrames[id] = resolvedFrame(codeObject, callSite - code.start);
      this.unnamedPcs.delete(pc);
    }
  }

  /** A STACK_RESET: stacks defined from now on are resolved against the code known then. */
  forgetUnnamedPcs(): void {
    this.unnamedPcs.clear();
  }

  moveCode(from: number, to: number): void {
    const moved = this.codeObjects.find(from);
    if (moved === undefined || moved.start !== from) return;
    const sizeBytes = moved.end - moved.start;
    this.codeObjects.removeOverlapping(from, from + 1);
    this.codeObjects.removeOverlapping(to, to + sizeBytes);
    this.codeObjects.insert(to, to + sizeBytes, moved.value);
  }

  addModule(module: ModuleRecord): void {
    const loaded: LoadedModule = { path: this.captureStrings.get(module.pathRef), loadBias: module.loadBias };
    for (const segment of module.segments) {
      this.moduleSegments.removeOverlapping(segment.start, segment.start + segment.lengthBytes);
      this.moduleSegments.insert(segment.start, segment.start + segment.lengthBytes, loaded);
      for (const [pc, id] of this.unnamedPcs) {
        const callSite = pc - 1;
        if (callSite < segment.start || callSite >= segment.start + segment.lengthBytes) continue;
        this.provisionalFrames[id] = { type: 'native', pc, modulePath: loaded.path, loadBias: loaded.loadBias };
        this.unnamedPcs.delete(pc);
      }
    }
  }

  addSymbol(pc: number, functionRef: number, fileRef: number, line: number): void {
    this.symbolsByPc.set(pc, {
      functionName: this.captureStrings.get(functionRef),
      file: this.captureStrings.get(fileRef),
      line,
    });
  }

  /** The provisional frame id of a stack pc, resolved against what is loaded right now. */
  frameOfPc(pc: number): number {
    // A pc is a return address: the call instruction is the byte before it.
    const callSite = pc - 1;
    const code = this.codeObjects.find(callSite);
    if (code !== undefined) return this.intern(resolvedFrame(code.value, callSite - code.start));
    const segment = this.moduleSegments.find(callSite);
    if (segment !== undefined) {
      return this.intern({ type: 'native', pc, modulePath: segment.value.path, loadBias: segment.value.loadBias });
    }
    const id = this.intern({ type: 'unknown', pc });
    if (this.provisionalFrames[id].type === 'unknown') this.unnamedPcs.set(pc, id);
    return id;
  }

  threadFrame(threadId: number): number {
    return this.intern({ type: 'thread', threadId });
  }

  /**
   * Resolves every provisional frame for good (SYMBOL records are all known now) into a frame
   * table; returns it with the final frame index of each provisional frame.
   */
  finish(threadLabel: (threadId: number) => string, strings: ModelStrings): { frames: FrameTable; finalFrameOf: Int32Array; optimizedFrames: Uint8Array } {
    const finalFrameOf = new Int32Array(this.provisionalFrames.length);
    const descriptions: FrameDescription[] = [];
    const finalIdByKey = new Map<string, number>();
    const optimizedIds = new Set<number>();
    this.provisionalFrames.forEach((provisional, id) => {
      const description = this.describe(provisional, threadLabel);
      const key = frameKey(description);
      let finalId = finalIdByKey.get(key);
      if (finalId === undefined) {
        finalId = descriptions.length;
        descriptions.push(description);
        finalIdByKey.set(key, finalId);
      }
      finalFrameOf[id] = finalId;
      if (provisional.type === 'resolved' && provisional.optimized) optimizedIds.add(finalId);
    });
    /** 1 for a frame that some optimized code object gave. */
    const optimizedFrames = new Uint8Array(descriptions.length);
    for (const id of optimizedIds) optimizedFrames[id] = 1;

    const count = descriptions.length;
    const frames: FrameTable = {
      count,
      functionName: new Int32Array(count),
      file: new Int32Array(count),
      line: new Int32Array(count),
      column: new Int32Array(count),
      kind: new Uint8Array(count),
    };
    descriptions.forEach((description, i) => {
      frames.functionName[i] = strings.intern(description.functionName);
      frames.file[i] = strings.intern(description.file);
      frames.line[i] = description.line;
      frames.column[i] = description.column;
      frames.kind[i] = description.kind;
    });
    return { frames, finalFrameOf, optimizedFrames };
  }

  private describe(provisional: ProvisionalFrame, threadLabel: (threadId: number) => string): FrameDescription {
    switch (provisional.type) {
      case 'resolved': {
        const name = provisional.functionKey === undefined ? undefined : this.internalFunctionNames.get(provisional.functionKey);
        return name === undefined ? provisional.frame : { ...provisional.frame, functionName: name };
      }
      case 'thread':
        return { functionName: threadLabel(provisional.threadId), file: '', line: 0, column: 0, kind: FrameKind.Thread };
      case 'unknown':
        return { functionName: `[unknown 0x${provisional.pc.toString(16)}]`, file: '', line: 0, column: 0, kind: FrameKind.Native };
      case 'native': {
        const symbol = this.symbolsByPc.get(provisional.pc);
        if (symbol !== undefined && symbol.functionName !== '') {
          return {
            functionName: symbol.functionName,
            file: symbol.file !== '' ? symbol.file : provisional.modulePath,
            line: symbol.line,
            column: 0,
            kind: FrameKind.Native,
          };
        }
        const library = provisional.modulePath.slice(provisional.modulePath.lastIndexOf('/') + 1);
        const offset = provisional.pc - provisional.loadBias;
        return {
          functionName: `${library}+0x${offset.toString(16)}`,
          file: provisional.modulePath,
          line: 0,
          column: 0,
          kind: FrameKind.Native,
        };
      }
    }
  }

  private intern(provisional: ProvisionalFrame): number {
    const key = provisionalKey(provisional);
    let id = this.provisionalIdByKey.get(key);
    if (id === undefined) {
      id = this.provisionalFrames.length;
      this.provisionalFrames.push(provisional);
      this.provisionalIdByKey.set(key, id);
    }
    return id;
  }
}

/** The model's string table: index 0 is "", each distinct string once. */
export class ModelStrings {
  readonly list: string[] = [''];
  private readonly indexOf = new Map<string, number>([['', 0]]);

  intern(text: string): number {
    let index = this.indexOf.get(text);
    if (index === undefined) {
      index = this.list.length;
      this.list.push(text);
      this.indexOf.set(text, index);
    }
    return index;
  }
}

/** The provisional frame of a call at `pcOffset` into a code object. */
function resolvedFrame(code: CodeObject, pcOffset: number): ProvisionalFrame {
  return { type: 'resolved', frame: callFrame(code, pcOffset), functionKey: code.functionKey, optimized: code.optimized };
}

/** The frame of a call at `pcOffset` into a code object. */
function callFrame(code: CodeObject, pcOffset: number): FrameDescription {
  const { functionName, file, kind, positions } = code;
  let { line, column } = code;
  const position = lastPositionAtOrBefore(positions, pcOffset);
  // A position with line 0 is code without a source position (e.g. a deopt exit): keep the
  // function's own line rather than report an unknown one.
  if (position !== undefined && position.line !== 0) ({ line, column } = position);
  return { functionName, file, line, column, kind };
}

function lastPositionAtOrBefore(positions: CodePosition[], pcOffset: number): CodePosition | undefined {
  let low = 0;
  let high = positions.length; // answer is positions[low - 1]
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (positions[middle].pcOffset <= pcOffset) low = middle + 1;
    else high = middle;
  }
  return low > 0 ? positions[low - 1] : undefined;
}

function frameKey(frame: FrameDescription): string {
  return `${frame.kind}\0${frame.functionName}\0${frame.file}\0${frame.line}\0${frame.column}`;
}

function provisionalKey(provisional: ProvisionalFrame): string {
  switch (provisional.type) {
    case 'resolved': return `r\0${provisional.optimized ? 1 : 0}\0${frameKey(provisional.frame)}`;
    case 'native': return `n\0${provisional.pc}\0${provisional.modulePath}\0${provisional.loadBias}`;
    case 'unknown': return `u\0${provisional.pc}`;
    case 'thread': return `t\0${provisional.threadId}`;
  }
}

