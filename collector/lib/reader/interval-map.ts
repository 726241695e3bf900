// Non-overlapping address ranges [start, end) with a value each, ordered by start: the reader's
// map of code objects, module segments and accessible mappings. A treap (a binary search tree
// kept balanced by random priorities) so that finding, inserting and cutting out a range cost
// O(log n) plus the number of ranges cut, however the collector's ranges come and go.

export interface AddressRange<T> {
  start: number;
  end: number;
  value: T;
}

interface TreapNode<T> extends AddressRange<T> {
  priority: number;
  left: TreapNode<T> | undefined;
  right: TreapNode<T> | undefined;
}

export class IntervalMap<T> {
  private root: TreapNode<T> | undefined;
  private seed = 0x2545f491;
  size = 0;

  /** The range containing `address`, if any. */
  find(address: number): AddressRange<T> | undefined {
    let node = this.root;
    let floor: TreapNode<T> | undefined;
    while (node !== undefined) {
      if (node.start <= address) {
        floor = node;
        node = node.right;
      } else {
        node = node.left;
      }
    }
    return floor !== undefined && address < floor.end ? floor : undefined;
  }

  /** Adds a range; the caller has removed whatever overlapped it. */
  insert(start: number, end: number, value: T): void {
    const [before, after] = split(this.root, start);
    const node: TreapNode<T> = { start, end, value, priority: this.nextPriority(), left: undefined, right: undefined };
    this.root = merge(merge(before, node), after);
    this.size++;
  }

  /**
   * Removes every range that overlaps [start, end) and returns them whole, in address order.
   * Callers that only want to cut out [start, end) re-insert the parts outside it.
   */
  removeOverlapping(start: number, end: number): AddressRange<T>[] {
    const [before, fromStart] = split(this.root, start);
    const [inside, after] = split(fromStart, end);
    const removed: AddressRange<T>[] = [];
    // Only the last range starting before `start` can reach into [start, end).
    let kept = before;
    const last = maxNode(before);
    if (last !== undefined && last.end > start && end > start) {
      const [rest, lastAlone] = split(before, last.start);
      void lastAlone;
      kept = rest;
      removed.push(last);
    }
    collect(inside, removed);
    this.size -= removed.length;
    this.root = merge(kept, after);
    return removed.map(({ start, end, value }) => ({ start, end, value }));
  }

  private nextPriority(): number {
    // xorshift32: deterministic, so a capture is always read with the same tree shape.
    let x = this.seed;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.seed = x >>> 0;
    return this.seed;
  }
}

/** Splits into (ranges starting before `key`, ranges starting at or after `key`). */
function split<T>(node: TreapNode<T> | undefined, key: number): [TreapNode<T> | undefined, TreapNode<T> | undefined] {
  if (node === undefined) return [undefined, undefined];
  if (node.start < key) {
    const [left, right] = split(node.right, key);
    node.right = left;
    return [node, right];
  }
  const [left, right] = split(node.left, key);
  node.left = right;
  return [left, node];
}

function merge<T>(left: TreapNode<T> | undefined, right: TreapNode<T> | undefined): TreapNode<T> | undefined {
  if (left === undefined) return right;
  if (right === undefined) return left;
  if (left.priority > right.priority) {
    left.right = merge(left.right, right);
    return left;
  }
  right.left = merge(left, right.left);
  return right;
}

function maxNode<T>(node: TreapNode<T> | undefined): TreapNode<T> | undefined {
  while (node?.right !== undefined) node = node.right;
  return node;
}

function collect<T>(node: TreapNode<T> | undefined, into: AddressRange<T>[]): void {
  if (node === undefined) return;
  collect(node.left, into);
  into.push(node);
  collect(node.right, into);
}
