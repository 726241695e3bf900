// The capture's STRING records: ids are implicit, 1, 2, 3, ... in file order; 0 is "no string".
import { PayloadError } from './capture-error.js';

export class StringTable {
  private readonly texts: string[] = [''];

  add(text: string): void {
    this.texts.push(text);
  }

  /** The text of a string reference; a reference to a string not yet defined is corrupt. */
  get(ref: number): string {
    if (ref >= this.texts.length) {
      throw new PayloadError(`string reference ${ref} before that string was defined`, -1);
    }
    return this.texts[ref];
  }
}
