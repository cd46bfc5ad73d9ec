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
export { toMint, lowerToOnnx, MINT_DOMAIN, dialectName, onnxOpOf, type ToMintStats, type LowerOptions } from './dialect/index.js';
export { inferShapes, type InferReport, type UnsupportedOp } from './dialect/ops/infer.js';
export { lookupOp, ALL_OPS } from './dialect/ops/registry.js';
export type { OpDef, MintRef } from './dialect/ops/types.js';
export { evaluateModel, Evaluator, EvalError } from './eval/evaluator.js';
export { shapesReport, formatShapes, type ShapesReport } from './frontend/shapes-report.js';
export { VERSION } from './version.js';
export { loadModel, compile, verify, createSession, type OnnxCompiled, type MindSporeCompiled, type CompileOptions, type Session, type SessionOptions, type Ep } from './api.js';
export { compileForOrt, parseShapeSpec, type OrtCompileOptions, type OrtCompileResult } from './backends/ort/compile.js';
export { buildPlan, planMemory, type Plan, type MemoryPlan } from './backends/ort/plan.js';
export { verifyModels, compareTensors, type VerifyReport, type Comparison, type Divergence } from './backends/ort/verify.js';
export { benchModels, type BenchReport } from './backends/ort/bench.js';
export { EP_CAPABILITIES, epSupports } from './backends/ort/capabilities.js';
export { randomInputs, checkFeeds } from './backends/ort/inputs.js';
export { buildMindSporePackage, type PackageOptions, type MindSporePackage } from './backends/mindspore/package.js';
export { emitMindSpore, type MindSporeOptions, type EmitResult } from './backends/mindspore/emit.js';
export { runPasses, type PassRecord } from './passes/manager.js';
export { PASSES, DEFAULT_PIPELINE } from './passes/registry.js';
export { formatBundle, parseBundle } from './ir/bundle.js';
export { quantizeInt8, quantizeInt4, storeFp16, PRECISIONS, type Precision, type QuantizeReport } from './backends/ort/quantize.js';
export { computeFp16, halfIo, type Fp16ComputeReport } from './backends/ort/fp16.js';
export { perNodeAccuracy, type PerNodeAccuracy, type LayerLoss } from './backends/ort/sensitivity.js';
export { measureAccuracy, DEFAULT_MIN_COSINE, type OutputAccuracy } from './backends/ort/accuracy.js';
export { Profile, type PhaseRecord } from './util/profile.js';
