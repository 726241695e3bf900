// A Float64Array that grows on demand: per-call-tree-node figures while the tree is still growing.

export class GrowableFloat64Array {
  private values = new Float64Array(1024);

  get(index: number): number {
    return index < this.values.length ? this.values[index] : 0;
  }

  set(index: number, value: number): void {
    this.ensure(index);
    this.values[index] = value;
  }

  add(index: number, delta: number): void {
    this.ensure(index);
    this.values[index] += delta;
  }

  fill(value: number): void {
    this.values.fill(value);
  }

  private ensure(index: number): void {
    if (index < this.values.length) return;
    let capacity = this.values.length;
    while (capacity <= index) capacity *= 2;
    const grown = new Float64Array(capacity);
    grown.set(this.values);
    this.values = grown;
  }
}
