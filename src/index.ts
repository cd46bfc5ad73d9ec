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
export { VERSION } from './version.js';
