/**
 * The ONNX Runtime target's own passes, run after the dialect passes by the same pass manager (verified after
 * each under `verifyEach`, printable with `--print-after`, timed in the profile): the lowering of the dialect to
 * what the EP runs, and the precision modes. They read the EP, the opset and the precision options from the
 * context.
 */
import type { Model } from '../../ir/model.js';
import type { Pass, PassContext, PassResult } from '../../passes/pass.js';
import { lowerToOnnx } from '../../dialect/lower.js';
import { inferShapes } from '../../dialect/ops/infer.js';
import { lowerFusedForOrt } from './lower-fused.js';
import { fuseConvActivation } from './conv-activation.js';
import { applyEpGuards } from './ep-guards.js';
import { quantizeInt4, quantizeInt8, storeFp16 } from './quantize.js';
import { computeFp16, halfIo } from './fp16.js';

const counts = (r: object): Record<string, number> => Object.fromEntries(Object.entries(r).filter(([, v]) => typeof v === 'number')) as Record<string, number>;
const done = (stats: Record<string, number>, report?: Record<string, unknown>): PassResult => ({ modified: true, stats, ...(report ? { report } : {}) });
const epOf = (ctx: PassContext) => ctx.ep ?? 'cpu';

function pass(name: string, description: string, run: (m: Model, ctx: PassContext) => PassResult): Pass {
  return { name, description, run };
}

export const ORT_TARGET_PASSES: ReadonlyMap<string, Pass> = new Map(
  [
    pass('lower-fused', "fused dialect ops to the EP's kernels (or their expansion where it has none)", (m, ctx) => {
      const s = counts(lowerFusedForOrt(m, epOf(ctx)));
      return { modified: Object.values(s).some((n) => n > 0), stats: s };
    }),
    pass('lower-to-onnx', 'the mint dialect back to ONNX at the model\'s opset', (m, ctx) => {
      lowerToOnnx(m, { opset: ctx.opset ?? m.onnxOpset });
      return done({});
    }),
    pass('fuse-conv-activation', 'Conv + activation to com.microsoft.FusedConv where the EP has it', (m, ctx) => {
      const n = fuseConvActivation(m, epOf(ctx));
      return { modified: n > 0, stats: { fused_conv: n } };
    }),
    pass('ep-guards', "keeps onnxruntime from forming kernels the EP's table marks as slower", (m, ctx) => {
      const s = applyEpGuards(m, epOf(ctx));
      return { modified: Object.values(s).some((n) => n > 0), stats: s };
    }),
    pass('quantize-int8', 'MatMul/Gemm weights to int8 per output column (DynamicQuantizeMatMul), embeddings to int8', (m, ctx) => {
      const r = quantizeInt8(m, epOf(ctx), ctx.keepFp32 ?? []);
      return done(counts(r), { ...r });
    }),
    pass('quantize-int4', 'MatMul/Gemm weights to 4-bit blocks (MatMulNBits), embeddings to int8', (m, ctx) => {
      const r = quantizeInt4(m, epOf(ctx), ctx.keepFp32 ?? []);
      return done(counts(r), { ...r });
    }),
    pass('store-fp16', 'float32 weights stored in float16 behind Casts onnxruntime folds (compute stays float32)', (m, ctx) => {
      const r = storeFp16(m, ctx.keepFp32 ?? []);
      return done(counts(r), { compute: 'fp32', ...r });
    }),
    pass('compute-fp16', 'weights and activations in float16, float32 islands for softmax, reductions, exp/sin/cos', (m, ctx) => {
      inferShapes(m);
      const r = computeFp16(m, ctx.keepFp32 ?? [], ctx.io16 ?? false);
      return done(counts(r), { ...r });
    }),
    pass('half-io', 'float32 inputs and outputs to float16, cast where the plan reads and writes them', (m) => {
      const n = halfIo(m);
      return done({ io_casts: n }, { io: 'fp16', io_casts: n });
    }),
  ].map((p) => [p.name, p]),
);

/** The target's lowering, in order. */
export const ORT_LOWERING: readonly string[] = ['lower-fused', 'lower-to-onnx', 'fuse-conv-activation', 'ep-guards'];
