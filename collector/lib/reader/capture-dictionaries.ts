// The dictionary half of a capture: strings, code objects, modules, native symbols, stack nodes,
// metadata and thread names. The reference aggregator and the wasm engine's host both read them
// through this one class, so that frames are named exactly the same way by both.
import { CallTreeBuilder } from './call-tree-builder.js';
import { FrameResolver } from './frame-resolver.js';
import type { CodeAdd, ModuleRecord } from './record-decoder.js';

export abstract class CaptureDictionaries {
  readonly frameResolver = new FrameResolver();
  readonly callTree = new CallTreeBuilder(this.frameResolver);
  readonly metaValues = new Map<string, string>();
  readonly threadNames = new Map<number, string>();

  /** A thread shows up (THREAD record, or its name). */
  abstract thread(threadId: number): void;

  stack(parentDistance: number, pc: number): void {
    this.callTree.defineStack(parentDistance, pc);
  }

  stackReset(): void {
    this.callTree.resetStacks();
    this.frameResolver.forgetUnnamedPcs();
  }

  codeAdd(code: CodeAdd): void {
    this.frameResolver.addCode(code);
  }

  codeMove(from: number, to: number): void {
    this.frameResolver.moveCode(from, to);
  }

  string(text: string): void {
    this.frameResolver.captureStrings.add(text);
  }

  module(module: ModuleRecord): void {
    this.frameResolver.addModule(module);
  }

  symbol(pc: number, functionRef: number, fileRef: number, line: number): void {
    this.frameResolver.addSymbol(pc, functionRef, fileRef, line);
  }

  metaValue(keyRef: number, valueRef: number): void {
    const strings = this.frameResolver.captureStrings;
    this.metaValues.set(strings.get(keyRef), strings.get(valueRef));
  }

  threadName(threadId: number, nameRef: number): void {
    this.threadNames.set(threadId, this.frameResolver.captureStrings.get(nameRef));
    this.thread(threadId);
  }
}
