import { MsgraphError } from '../../errors.js';
import type { Model } from '../../ir/model.js';
import { decodeModel } from './decode.js';
import { encodeModelChunks } from './encode.js';
import { exportModel, type ExportOptions } from './export.js';
import { importModel } from './import.js';
import { WireError, type Chunk } from './protobuf.js';
import type { ModelP } from './proto.js';
import { noExternalData, type ExternalDataResolver } from './tensors.js';

export type { ExternalDataResolver } from './tensors.js';
export type { ExportOptions } from './export.js';
export { decodeModel } from './decode.js';
export { encodeModel, encodeModelChunks } from './encode.js';
export { importModel } from './import.js';
export { exportModel, leadingInitializerChunks } from './export.js';
export { INLINED_FROM, INLINED_CALL } from './inline.js';
export { concatChunks, type Chunk } from './protobuf.js';

/** Protobuf refuses messages of 2 GiB or more; past this, tensors must go to external data. */
export const PROTOBUF_LIMIT = 2 ** 31 - 1;

export interface ParseOptions {
  file?: string;
  external?: ExternalDataResolver;
}

/** Decodes the bytes of an .onnx file into the protobuf-level object, with one-line errors for bad input. */
export function parseModelProto(bytes: Uint8Array, file = '<memory>'): ModelP {
  if (bytes.length === 0) throw new MsgraphError('decode', 'the file is empty', { file });
  let p: ModelP;
  try {
    p = decodeModel(bytes);
  } catch (e) {
    if (e instanceof WireError) {
      throw new MsgraphError('decode', `not a valid ONNX protobuf: ${e.message}`, { file, hint: 'the file may be truncated or not an ONNX model' });
    }
    throw e;
  }
  if (!p.graph) {
    throw new MsgraphError('decode', `not an ONNX model: no graph found${p.irVersion ? '' : ' and no ir_version'}`, { file });
  }
  if (p.irVersion === 0 && p.opsetImport.length === 0 && p.graph.node.length === 0) {
    throw new MsgraphError('decode', 'not an ONNX model: no ir_version, opsets or nodes', { file });
  }
  return p;
}

/** Bytes -> IR. Tensor data stays a view of `bytes`. */
export function decodeModelBytes(bytes: Uint8Array, opts: ParseOptions = {}): Model {
  const file = opts.file ?? '<memory>';
  const model = importModel(parseModelProto(bytes, file), { file, external: opts.external ?? noExternalData });
  return model;
}

export interface EncodeResult {
  /** The model file's bytes, as chunks in order. */
  chunks: Chunk[];
  size: number;
  /** External data chunks (empty when everything is inline). */
  externalChunks: Chunk[];
  externalSize: number;
  /** In the graph-first layout (`leading` and `lengthWidth` given), the first chunk's length: the graph's tag and length. */
  head: number;
}

/**
 * IR -> ONNX bytes. With no `externalData` option, tensors go external automatically (to `autoLocation`) only
 * when the inline file would pass protobuf's 2 GiB limit.
 */
export function encodeModelBytes(model: Model, opts: ExportOptions & { autoLocation?: string; lengthWidth?: number } = {}): EncodeResult {
  let res = exportModel(model, opts);
  const graphFirst = opts.leading && opts.lengthWidth ? { leading: res.leading, lengthWidth: opts.lengthWidth } : undefined;
  let chunks = encodeModelChunks(res.proto, graphFirst);
  let head = graphFirst ? chunks[0]!.length : 0;
  let size = chunks.reduce((s, c) => s + c.length, 0);
  if (size > PROTOBUF_LIMIT && !opts.externalData) {
    if (!opts.autoLocation) {
      throw new MsgraphError('unsupported', `the model is ${size} bytes, over protobuf's 2 GiB limit, and no external data location was given`);
    }
    res = exportModel(model, { externalData: { location: opts.autoLocation, threshold: 1024 } });
    chunks = encodeModelChunks(res.proto);
    head = 0;
    size = chunks.reduce((s, c) => s + c.length, 0);
  }
  if (size > PROTOBUF_LIMIT) throw new MsgraphError('unsupported', `the model's graph alone is ${size} bytes, over protobuf's 2 GiB limit`);
  return { chunks, size, externalChunks: res.externalChunks, externalSize: res.externalBytes, head };
}
