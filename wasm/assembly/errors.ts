// Why decoding stopped. The engine returns these codes (negative) to the host, which turns them
// into one sentence with the file offset and chunk index (wasm/host/decode-session.ts).
// Keep in step with ENGINE_ERROR_TEXT in wasm/host/engine-errors.ts.

export const ERROR_NONE: i32 = 0;
export const ERROR_CHECKSUM: i32 = -1;
export const ERROR_LZ4_MALFORMED: i32 = -2;
export const ERROR_LZ4_SIZE_MISMATCH: i32 = -3;
export const ERROR_RECORD_TRUNCATED: i32 = -4;
export const ERROR_VARINT_TOO_LONG: i32 = -5;
export const ERROR_ZERO_RECORD: i32 = -6;
export const ERROR_UNKNOWN_STACK: i32 = -7;
export const ERROR_BAD_STACK_PARENT: i32 = -8;
export const ERROR_BAD_FIELD: i32 = -9;
export const ERROR_LIVE_SET_TOO_LARGE: i32 = -10;
export const ERROR_BAD_STRING_REF: i32 = -11;
export const ERROR_UNKNOWN_BLOCK: i32 = -12;
export const ERROR_ADDRESS_SECTION: i32 = -13;
export const ERROR_DEFLATE_MALFORMED: i32 = -14;
export const ERROR_DEFLATE_SIZE_MISMATCH: i32 = -15;
export const ERROR_SIZE_SECTION: i32 = -16;
export const ERROR_SCHEDULE: i32 = -17;

/** Offset within the raw (decompressed) chunk payload of the record that failed. */
export let errorRecordOffset: u32 = 0;
/** The type byte of that record, or 0 when the failure was not inside a record. */
export let errorRecordType: u32 = 0;

export function setErrorLocation(offset: u32, recordType: u32): void {
  errorRecordOffset = offset;
  errorRecordType = recordType;
}
