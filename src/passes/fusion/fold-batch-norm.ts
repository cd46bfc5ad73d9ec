/**
 * BatchNorm folded into the convolution (or linear layer) before it: y = (conv(x, W) + b - mean) * s + beta with
 * s = gamma / sqrt(var + eps) is conv(x, W * s) + (b - mean) * s + beta, per output channel. The producer's weight,
 * bias and the BatchNorm statistics must be float32 constants, and the producer's output must feed only the
 * BatchNorm. Inference only (BatchNormalization's training outputs unused). The folded parameters are new constants,
 * so this pass is for execution targets, not for the MindSpore port (which keeps the checkpoint's BatchNorm layers).
 */
import { Tensor } from '../../ir/tensor.js';
import type { DialectOp } from '../../dialect/op-names.js';
import { Value } from '../../ir/value.js';
import { fromTensor, num } from '../../ir/array.js';
import type { Match, Rule, RuleContext } from '../pattern.js';
import { named, oneOf, op, rulePass, tensor } from '../pattern.js';

const CONVS = [1, 2, 3].map((d) => `mint.nn.functional.conv${d}d`);
const CONV_TS = [1, 2, 3].map((d) => `mint.nn.functional.conv_transpose${d}d`);
const PRODUCERS = [...CONVS, ...CONV_TS, 'mint.nn.functional.linear'] as DialectOp[];

/** The folded weight, or why the shapes do not allow it. Output channels: dim 0 of Conv and Linear weights; for ConvTranspose dim 1 within each group. */
function foldWeight(m: Match, scale: Float64Array): Float32Array | string {
  const [p, w] = [m.n.p!, m.t.w!];
  const [wd, wv, channels] = [w.dims, num(fromTensor(w)), scale.length];
  const out = new Float32Array(wv.length);
  if (CONV_TS.includes(p.op)) {
    const group = Number(p.attrs.get('group')?.value ?? 1);
    const perOut = wd[1]!;
    if (perOut * group !== channels) return 'the transposed convolution has another channel count than the BatchNorm';
    const inner = wv.length / (wd[0]! * perOut);
    for (let i = 0; i < wd[0]!; i++) {
      const gi = Math.floor(i / (wd[0]! / group));
      for (let o = 0; o < perOut; o++) for (let k = 0; k < inner; k++) out[(i * perOut + o) * inner + k] = wv[(i * perOut + o) * inner + k]! * scale[gi * perOut + o]!;
    }
    return out;
  }
  if (wd[0] !== channels) return 'the weight has another channel count than the BatchNorm';
  const inner = wv.length / channels;
  for (let c = 0; c < channels; c++) for (let k = 0; k < inner; k++) out[c * inner + k] = wv[c * inner + k]! * scale[c]!;
  return out;
}

function scaleOf(m: Match): Float64Array {
  const eps = Number(m.root.attrs.get('epsilon')?.value ?? 1e-5);
  const [gm, vr] = [num(fromTensor(m.t.gamma!)), num(fromTensor(m.t.var!))];
  return Float64Array.from(gm, (gv, c) => gv / Math.sqrt(vr[c]! + eps));
}

function rewrite(m: Match, cx: RuleContext): void {
  const [g, p, bn] = [cx.g, m.n.p!, m.root];
  const scale = scaleOf(m);
  const [mu, bt] = [num(fromTensor(m.t.mean!)), num(fromTensor(m.t.beta!))];
  const bv = m.t.b ? num(fromTensor(m.t.b)) : new Float64Array(scale.length);
  const dtype = m.t.w!.dtype;
  const add = (name: string, dims: number[], data: Float32Array, like: Value['type']) => {
    const v = g.addInitializer(new Value(name), Tensor.fromArray(dtype, dims, data, name));
    v.type = like ?? { kind: 'tensor', dtype, shape: dims };
    return v;
  };
  const wNew = add(`${m.v.w!.name}_bn_folded`, [...m.t.w!.dims], foldWeight(m, scale) as Float32Array, m.v.w!.type);
  const bNew = add(`${m.v.b?.name ?? `${p.name}_bias`}_bn_folded`, [scale.length], Float32Array.from(scale, (s, c) => (bv[c]! - mu[c]!) * s + bt[c]!), null);
  p.replaceInput(1, wNew);
  if (p.inputs.length > 2) p.replaceInput(2, bNew);
  else p.appendInput(bNew);
  // The producer now computes the BatchNorm's result, under its name.
  const [x, y] = [p.outputs[0]!, bn.outputs[0]!];
  g.replaceAllUsesWith(y, x);
  g.remove(bn);
  if (g.outputs.includes(x)) x.name = y.name;
}

export const FOLD_BATCH_NORM_RULES: Rule[] = [{
  name: 'batch_norm_folded', label: 'BatchNorm folding', rewrite,
  pattern: op('mint.nn.functional.batch_norm', named(op(PRODUCERS, 'x', tensor('w'), oneOf(tensor('b'), null)), 'p'), tensor('gamma'), tensor('beta'), tensor('mean'), tensor('var')),
  anchor: 'mint.nn.functional.batch_norm', anchorIf: (n) => (PRODUCERS as string[]).includes(n.inputs[0]?.producer?.op ?? ''),
  check(m) {
    if (m.root.outputs.slice(1).some((o) => o && o.uses.length)) return "the BatchNorm's training outputs are read";
    if (['w', 'b', 'gamma', 'beta', 'mean', 'var'].some((t) => m.t[t] && m.t[t]!.dtype.name !== 'float32')) return 'the weights or the BatchNorm statistics are not float32';
    const w = foldWeight(m, scaleOf(m));
    return typeof w === 'string' ? w : null;
  },
}];

export const foldBatchNorm = rulePass('fold-batch-norm', 'BatchNorm after Conv / ConvTranspose / Linear folded into its weights', FOLD_BATCH_NORM_RULES);
