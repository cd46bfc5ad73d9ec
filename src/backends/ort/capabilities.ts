/**
 * What each execution provider has kernels for, as data that lowering consults. The default-domain ONNX ops are
 * covered up to an opset (cpu and wasm run every standard op; webgpu lists its own); com.microsoft contrib ops are
 * listed per EP. cpu and wasm entries are checked by a test that builds and runs a model for every entry;
 * webgpu and cuda entries follow onnxruntime 1.30's operator documentation. The browser tests run, on webgpu, the
 * zoo models and every fused op its lowering emits (onnxruntime-web on chromium's software adapter), not every
 * entry; cuda cannot be run here.
 */
export interface EpCapabilities {
  /** Highest default-domain opset the EP implements. */
  maxOpset: number;
  /** null: every standard op; else the standard ops it has kernels for. */
  onnx: readonly string[] | null;
  /** com.microsoft ops with kernels. */
  contrib: readonly string[];
  /** Whether this table was checked by running models on this EP. */
  tested: boolean;
  /**
   * Kernels that exist but measured slower than the ops they replace (bench/ort-kernels.ts), which lowering keeps
   * onnxruntime's own optimiser from forming (ep-guards.ts).
   */
  avoid: readonly string[];
  /**
   * Whether `--precision fp16` computes in float16 here (weights and activations) or only stores weights in float16.
   * cpu and wasm have few float16 kernels (onnxruntime runs the rest behind casts it inserts): bench/precision.ts
   * measures the float16-compute plan slower there than the float32 one.
   */
  fp16Compute: boolean;
}

const CPU_CONTRIB = [
  'Attention', 'MultiHeadAttention', 'SkipLayerNormalization', 'SkipSimplifiedLayerNormalization', 'FastGelu', 'BiasGelu',
  'Gelu', 'QuickGelu', 'FusedConv', 'FusedGemm', 'FusedMatMul', 'RotaryEmbedding', 'DynamicQuantizeMatMul', 'MatMulNBits',
] as const;

const WEBGPU_ONNX = [
  'Abs', 'Acos', 'Acosh', 'Add', 'ArgMax', 'ArgMin', 'Asin', 'Asinh', 'Atan', 'Atanh', 'AveragePool', 'BatchNormalization',
  'Cast', 'Ceil', 'Clip', 'Concat', 'Conv', 'ConvTranspose', 'Cos', 'Cosh', 'CumSum', 'DepthToSpace', 'Div', 'Einsum', 'Elu',
  'Equal', 'Erf', 'Exp', 'Expand', 'Flatten', 'Floor', 'Gather', 'GatherElements', 'GatherND', 'Gelu', 'Gemm',
  'GlobalAveragePool', 'GlobalMaxPool', 'Greater', 'GreaterOrEqual', 'HardSigmoid', 'HardSwish', 'Identity', 'If',
  'InstanceNormalization', 'LayerNormalization', 'LeakyRelu', 'Less', 'LessOrEqual', 'Log', 'MatMul', 'MaxPool', 'Mul', 'Neg',
  'Not', 'Pad', 'Pow', 'Range', 'Reciprocal', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceMax',
  'ReduceMean', 'ReduceMin', 'ReduceProd', 'ReduceSum', 'ReduceSumSquare', 'Relu', 'Reshape', 'Resize', 'ScatterND',
  'Shape', 'Sigmoid', 'Sign', 'Sin', 'Sinh', 'Slice', 'Softmax', 'Split', 'Sqrt', 'Squeeze', 'Sub', 'Tan', 'Tanh',
  'ThresholdedRelu', 'Tile', 'Transpose', 'Trilu', 'Unsqueeze', 'Where',
] as const;

export const EP_CAPABILITIES: Readonly<Record<string, EpCapabilities>> = {
  cpu: { maxOpset: 23, onnx: null, contrib: CPU_CONTRIB, tested: true, avoid: ['SkipLayerNormalization'], fp16Compute: false },
  wasm: { maxOpset: 23, onnx: null, contrib: CPU_CONTRIB, tested: true, avoid: [], fp16Compute: false },
  webgpu: {
    maxOpset: 23,
    onnx: WEBGPU_ONNX,
    contrib: ['MultiHeadAttention', 'SkipLayerNormalization', 'FastGelu', 'BiasGelu', 'Gelu', 'QuickGelu', 'FusedConv', 'RotaryEmbedding', 'BiasAdd', 'GroupQueryAttention', 'MatMulNBits'],
    tested: false,
    avoid: [],
    fp16Compute: true,
  },
  cuda: {
    maxOpset: 23,
    onnx: null,
    contrib: [...CPU_CONTRIB, 'GroupNorm', 'BiasSplitGelu', 'BiasAdd', 'GroupQueryAttention'],
    tested: false,
    avoid: [],
    fp16Compute: true,
  },
};

/** Whether `ep` has a kernel for an op (default domain '' or com.microsoft). */
export function epSupports(ep: string, domain: string, op: string): boolean {
  const c = EP_CAPABILITIES[ep];
  if (!c) return false;
  if (domain === '' || domain === 'ai.onnx') return c.onnx === null || c.onnx.includes(op);
  if (domain === 'com.microsoft') return c.contrib.includes(op);
  return false;
}
