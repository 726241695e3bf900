// Test helpers: decode an in-memory capture with the engine or with the reference reader.
import type { CaptureModel } from '../../viewer/model/types.js';
import { piecesOf } from '../support/synthetic-capture.js';
import { readCapture } from '../../collector/lib/reader/index.js';
import { DecodeSession } from '../../wasm/host/decode-session.js';
import { compiledDecoder } from '../../wasm/host/node-wasm.js';

export async function engineDecode(bytes: Uint8Array, temporaryThreshold?: number, pieceBytes = 4099): Promise<CaptureModel> {
  const session = await DecodeSession.create(await compiledDecoder());
  return session.decode(piecesOf(bytes, pieceBytes), bytes.length, { temporaryThreshold });
}

export async function referenceDecode(bytes: Uint8Array, temporaryThreshold?: number): Promise<CaptureModel> {
  return readCapture(piecesOf(bytes, 65536), bytes.length, { temporaryThreshold });
}

/** The model, or the error it ended with. */
export async function outcome(decode: () => Promise<CaptureModel>): Promise<CaptureModel | Error> {
  try {
    return await decode();
  } catch (error) {
    return error as Error;
  }
}

/** Bytes and count of the call-tree nodes whose frame is named `functionName`, summed. */
export function figuresAt(model: CaptureModel, view: keyof CaptureModel['views'], functionName: string): { bytes: number; count: number } {
  let bytes = 0;
  let count = 0;
  for (let node = 1; node < model.tree.count; node++) {
    const frame = model.tree.frame[node];
    if (model.strings[model.frames.functionName[frame]] !== functionName) continue;
    bytes += model.views[view].bytes[node];
    count += model.views[view].count[node];
  }
  return { bytes, count };
}
