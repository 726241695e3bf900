// What each engine error code means (wasm/assembly/errors.ts holds the codes).

const ENGINE_ERROR_TEXT: Record<number, string> = {
  [-1]: 'checksum mismatch',
  [-2]: 'malformed LZ4 block',
  [-3]: 'LZ4 block does not decompress to the raw size',
  [-4]: 'record runs past the end of the chunk',
  [-5]: 'varint overflows 64 bits',
  [-6]: 'record code 0 (zeroed or corrupt data)',
  [-7]: 'stack id is not defined',
  [-8]: 'stack parent is not an earlier stack',
  [-9]: 'field out of range',
  [-10]: 'the live set does not fit in the decoder\'s 4 GiB of wasm memory (more than ~13M live allocations)',
  [-11]: 'string reference before that string was defined',
  [-12]: 'names a heap block that does not exist or was already released',
  [-13]: 'the address section runs past the end of the chunk',
  [-14]: 'malformed DEFLATE stream',
  [-15]: 'DEFLATE stream does not decompress to the raw size',
  [-16]: 'the size section does not hold one size per new block',
  [-17]: 'the schedule of record streams does not match the chunk\'s records',
};

export const ERROR_CHECKSUM = -1;
export const ERROR_LZ4_MALFORMED = -2;
export const ERROR_LZ4_SIZE_MISMATCH = -3;

export function engineErrorText(code: number): string {
  return ENGINE_ERROR_TEXT[code] ?? `engine error ${code}`;
}

const RECORD_NAMES = ['code 0', 'ALLOC', 'FREE', 'REALLOC', 'MAP', 'UNMAP', 'THREAD', 'TIME', 'RSS', 'STACK',
  'STACK_RESET', 'CODE', 'STRING', 'MODULE', 'SYMBOL', 'META'];

export function recordName(typeByte: number): string {
  return RECORD_NAMES[typeByte & 15];
}
