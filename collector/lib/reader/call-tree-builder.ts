// Builds the call tree while reading: root → one node per thread → frames from the outermost to
// the innermost. Stack ids name nodes of the collector's trie (docs/capture-format.md, "Stacks");
// each (trie node, thread) pair is mapped to a call-tree node once and remembered, so an event
// costs one lookup. Frames are provisional (see frame-resolver.ts): `finish` merges nodes whose
// final frames turn out equal.
import type { CallTree } from '../../../viewer/model/types.js';
import { PayloadError } from './capture-error.js';
import type { FrameResolver } from './frame-resolver.js';

const ROOT = 0;
const NO_THREAD = -1;

interface TrieNode {
  parent: number;
  frame: number; // provisional frame id
  // The call-tree node of this stack on one thread, and on any others; most stacks see one thread.
  cachedThread: number;
  cachedTreeNode: number;
  otherThreads: Map<number, number> | undefined;
}

export class CallTreeBuilder {
  private readonly parents: number[] = [-1];
  private readonly frames: number[] = [-1];
  private readonly children: Map<number, number>[] = [new Map()];
  /** Trie nodes by stack id; index 0 is the empty stack. */
  private trie: TrieNode[] = [emptyStack()];

  constructor(private readonly frameResolver: FrameResolver) {}

  get nodeCount(): number {
    return this.parents.length;
  }

  /** A STACK record: defines the next trie node, resolving its pc now. */
  defineStack(parentDistance: number, pc: number): void {
    const id = this.trie.length;
    const parent = id - parentDistance;
    if (parentDistance < 1 || parent < 0) {
      throw new PayloadError(`stack ${id} names parent ${parent}, which is not an earlier stack`, -1);
    }
    this.trie.push({
      parent,
      frame: this.frameResolver.frameOfPc(pc),
      cachedThread: NO_THREAD,
      cachedTreeNode: 0,
      otherThreads: undefined,
    });
  }

  resetStacks(): void {
    this.trie = [emptyStack()];
  }

  /** The call-tree node of stack `stackId` on thread `threadId`. */
  nodeOf(stackId: number, threadId: number): number {
    if (!(stackId >= 0 && stackId < this.trie.length && Number.isInteger(stackId))) {
      throw new PayloadError(`stack id ${stackId} is not defined (${this.trie.length - 1} stacks so far)`, -1);
    }
    // Walk up to the nearest stack already mapped on this thread, then map the path back down.
    const unmapped: number[] = [];
    let id = stackId;
    let treeNode = -1;
    while (treeNode < 0) {
      const known = this.cached(id, threadId);
      if (known !== undefined) treeNode = known;
      else if (id === 0) treeNode = this.threadNode(threadId);
      else {
        unmapped.push(id);
        id = this.trie[id].parent;
      }
    }
    for (let i = unmapped.length - 1; i >= 0; i--) {
      const trieNode = this.trie[unmapped[i]];
      treeNode = this.child(treeNode, trieNode.frame);
      this.remember(trieNode, threadId, treeNode);
    }
    return treeNode;
  }

  /** The final tree, given the final frame of each provisional frame; plus old node → new node. */
  finish(finalFrameOf: Int32Array): { tree: CallTree; finalNodeOf: Int32Array } {
    const finalNodeOf = new Int32Array(this.parents.length);
    const parents: number[] = [-1];
    const frames: number[] = [-1];
    const childByKey = new Map<string, number>();
    for (let node = 1; node < this.parents.length; node++) {
      const parent = finalNodeOf[this.parents[node]];
      const frame = finalFrameOf[this.frames[node]];
      const key = `${parent}:${frame}`;
      let finalNode = childByKey.get(key);
      if (finalNode === undefined) {
        finalNode = parents.length;
        parents.push(parent);
        frames.push(frame);
        childByKey.set(key, finalNode);
      }
      finalNodeOf[node] = finalNode;
    }
    return {
      tree: { count: parents.length, parent: Int32Array.from(parents), frame: Int32Array.from(frames) },
      finalNodeOf,
    };
  }

  private threadNode(threadId: number): number {
    return this.child(ROOT, this.frameResolver.threadFrame(threadId));
  }

  private child(parent: number, frame: number): number {
    let node = this.children[parent].get(frame);
    if (node === undefined) {
      node = this.parents.length;
      this.parents.push(parent);
      this.frames.push(frame);
      this.children.push(new Map());
      this.children[parent].set(frame, node);
    }
    return node;
  }

  private cached(id: number, threadId: number): number | undefined {
    if (id === 0) return undefined;
    const trieNode = this.trie[id];
    if (trieNode.cachedThread === threadId) return trieNode.cachedTreeNode;
    return trieNode.otherThreads?.get(threadId);
  }

  private remember(trieNode: TrieNode, threadId: number, treeNode: number): void {
    if (trieNode.cachedThread === NO_THREAD) {
      trieNode.cachedThread = threadId;
      trieNode.cachedTreeNode = treeNode;
    } else {
      (trieNode.otherThreads ??= new Map()).set(threadId, treeNode);
    }
  }
}

function emptyStack(): TrieNode {
  return { parent: -1, frame: -1, cachedThread: NO_THREAD, cachedTreeNode: 0, otherThreads: undefined };
}
