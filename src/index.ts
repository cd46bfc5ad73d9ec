/** msgraph's library API (Node). Browser-safe modules avoid node: imports; file access lives in node-fs.ts. */
export * from './ir/index.js';
export { MsgraphError, isMsgraphError, type ErrorCode } from './errors.js';
export {
  decodeModelBytes, encodeModelBytes, concatChunks, parseModelProto, PROTOBUF_LIMIT,
  type EncodeResult, type ParseOptions, type ExternalDataResolver, type ExportOptions,
} from './frontend/onnx/index.js';
export { loadModelFile, saveModelFile, fileExternalResolver, readModelFile, type SaveOptions } from './frontend/onnx/node-fs.js';
export { inspectModel, protoStats, guessExporter, type InspectSummary, type ExporterGuess } from './frontend/inspect.js';
export { formatInspect } from './frontend/inspect-format.js';
export { buildModuleTree, nodeScope, type ModuleInfo } from './frontend/hierarchy.js';
export { toMint, lowerToOnnx, MINT_DOMAIN, dialectName, onnxOpOf, type ToMintStats, type LowerOptions } from './frontend/dialect/index.js';
export { inferShapes, type InferReport, type UnsupportedOp } from './frontend/ops/infer.js';
export { lookupOp, ALL_OPS } from './frontend/ops/registry.js';
export type { OpDef, MintRef } from './frontend/ops/types.js';
export { evaluateModel, Evaluator, EvalError } from './eval/evaluator.js';
export { shapesReport, formatShapes, type ShapesReport } from './frontend/shapes-report.js';
export { VERSION } from './version.js';
