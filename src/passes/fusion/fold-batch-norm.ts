/**
 * BatchNorm folded into the convolution (or linear layer) before it: y = (conv(x, W) + b - mean) * s + beta with
 * s = gamma / sqrt(var + eps) is conv(x, W * s) + (b - mean) * s + beta, per output channel. The producer's weight,
 * bias and the BatchNorm statistics must be constants, and the producer's output must feed only the BatchNorm.
 * Inference only (BatchNormalization's training outputs unused). The folded parameters are new constants, so this
 * pass is for execution targets, not for the MindSpore port (which keeps the checkpoint's BatchNorm layers).
 */
import type { Node } from '../../ir/node.js';
import { Tensor } from '../../ir/tensor.js';
import { Value } from '../../ir/value.js';
import { fromTensor, num } from '../../ir/array.js';
import type { Pass } from '../pass.js';
import { result } from '../pass.js';
import { constantsOf } from '../util.js';

const CONV = /^mint\.nn\.functional\.conv[123]d$/;
const CONV_T = /^mint\.nn\.functional\.conv_transpose[123]d$/;

export const foldBatchNorm: Pass = {
  name: 'fold-batch-norm',
  description: 'BatchNorm after Conv / ConvTranspose / Linear folded into its weights',
  run(model) {
    const g = model.graph;
    const constOf = constantsOf(model);
    let folded = 0;
    const nearMisses: { node: string; reason: string }[] = [];
    for (const bn of [...g]) {
      if (bn.op !== 'mint.nn.functional.batch_norm' || bn.graph !== g || bn.outputs.slice(1).some((o) => o && o.uses.length)) continue;
      const x = bn.inputs[0];
      const p: Node | null | undefined = x?.producer;
      if (!x || !p || !(CONV.test(p.op) || CONV_T.test(p.op) || p.op === 'mint.nn.functional.linear')) continue;
      const miss = (reason: string) => nearMisses.push({ node: bn.name, reason });
      if (x.uses.length !== 1 || g.outputs.includes(x)) {
        miss(`${p.name || p.op}'s output is used elsewhere too`);
        continue;
      }
      const [w, b] = [constOf(p.inputs[1]), p.inputs[2] ? constOf(p.inputs[2]) : null];
      const [gamma, beta, mean, variance] = bn.inputs.slice(1, 5).map((v) => constOf(v));
      if (!w || (p.inputs[2] && !b) || !gamma || !beta || !mean || !variance || w.dtype.name !== 'float32') {
        miss('the weights or the BatchNorm statistics are not float32 constants');
        continue;
      }
      const eps = Number(bn.attrs.get('epsilon')?.value ?? 1e-5);
      const [gm, bt, mu, vr] = [gamma, beta, mean, variance].map((t) => num(fromTensor(t)));
      const channels = gm.length;
      const scale = Float64Array.from(gm, (gv, c) => gv / Math.sqrt(vr[c]! + eps));
      // Output channels: dim 0 of Conv and Linear weights; for ConvTranspose dim 1 within each group.
      const wd = w.dims;
      const wv = num(fromTensor(w));
      const out = new Float32Array(wv.length);
      if (CONV_T.test(p.op)) {
        const group = Number(p.attrs.get('group')?.value ?? 1);
        const perOut = wd[1]!;
        const inner = wv.length / (wd[0]! * perOut);
        if (perOut * group !== channels) continue;
        for (let i = 0; i < wd[0]!; i++) {
          const gi = Math.floor(i / (wd[0]! / group));
          for (let o = 0; o < perOut; o++) for (let k = 0; k < inner; k++) {
            const at = (i * perOut + o) * inner + k;
            out[at] = wv[at]! * scale[gi * perOut + o]!;
          }
        }
      } else {
        if (wd[0] !== channels) continue;
        const inner = wv.length / channels;
        for (let c = 0; c < channels; c++) for (let k = 0; k < inner; k++) out[c * inner + k] = wv[c * inner + k]! * scale[c]!;
      }
      const bv = b ? num(fromTensor(b)) : new Float64Array(channels);
      const bias = Float32Array.from({ length: channels }, (_, c) => (bv[c]! - mu[c]!) * scale[c]! + bt[c]!);
      const base = p.inputs[1]!.name;
      const wNew = g.addInitializer(new Value(`${base}_bn_folded`), Tensor.fromArray(w.dtype, [...wd], out, `${base}_bn_folded`));
      wNew.type = p.inputs[1]!.type;
      const bName = `${p.inputs[2]?.name ?? `${p.name}_bias`}_bn_folded`;
      const bNew = g.addInitializer(new Value(bName), Tensor.fromArray(w.dtype, [channels], bias, bName));
      bNew.type = { kind: 'tensor', dtype: w.dtype, shape: [channels] };
      p.replaceInput(1, wNew);
      if (p.inputs.length > 2) p.replaceInput(2, bNew);
      else p.appendInput(bNew);
      // The producer now computes the BatchNorm's result, under its name.
      const y = bn.outputs[0]!;
      g.replaceAllUsesWith(y, x);
      g.remove(bn);
      if (g.outputs.includes(x)) x.name = y.name;
      folded++;
    }
    return { ...result({ batch_norm_folded: folded }), nearMisses };
  },
};
