/**
 * Attention fusion on the mint dialect: softmax(Q·Kᵀ·scale [+ mask]) · V becomes one
 * `msgraph.scaled_dot_product_attention` node. Handles the forms torch exports: per-head 4-D and head-flattened
 * 3-D (bmm/baddbmm) matmuls, the scale as Mul or Div on the scores, an additive mask (baddbmm's beta·input
 * included), a boolean mask through Where(cond, -inf, scores) (masked_fill: causal and padding masks), and Kᵀ from
 * a transpose of the last two dims (absorbed) or from anywhere else (kept, flagged).
 */
import type { Graph } from '../../ir/graph.js';
import { Node } from '../../ir/node.js';
import type { Tensor } from '../../ir/tensor.js';
import { Value } from '../../ir/value.js';
import { fromTensor, num } from '../../ir/array.js';
import type { Pass } from '../pass.js';
import { result } from '../pass.js';
import { constantsOf, replaceWithNode, scopedName } from '../util.js';

export const SDPA_OP = 'msgraph.scaled_dot_product_attention';

export interface AttentionReport {
  fused: number;
  /** Softmax nodes that looked like attention but did not fuse, with the reason. */
  nearMisses: { node: string; reason: string }[];
}

type ConstOf = (v: Value | null | undefined) => Tensor | null;

const rank = (v: Value | null | undefined) => (v?.type?.kind === 'tensor' && v.type.shape ? v.type.shape.length : null);

function single(v: Value | null | undefined, g: Graph): Node | null {
  if (!v || v.uses.length !== 1 || g.outputs.includes(v)) return null;
  return v.uses[0]!.node;
}

function scalar(t: Tensor | null): number | null {
  return t && t.size === 1 && t.dtype.kind === 'float' ? num(fromTensor(t))[0]! : null;
}

function swapsLastTwo(n: Node): boolean {
  const a = n.attrs.get('perm');
  if (a?.type !== 'ints') return false;
  const p = a.value.map(Number);
  const r = p.length;
  return r >= 2 && p.every((x, i) => (i < r - 2 ? x === i : i === r - 2 ? x === r - 1 : x === r - 2));
}

export function fuseAttention(g: Graph, constOf: ConstOf): AttentionReport {
  const report: AttentionReport = { fused: 0, nearMisses: [] };
  for (const sm of [...g]) {
    if (sm.domain !== 'mint' || sm.op !== 'mint.softmax' || !sm.outputs[0]) continue;
    const miss = (reason: string) => report.nearMisses.push({ node: sm.name, reason });
    const r = rank(sm.outputs[0]);
    const axis = Number(sm.attrs.get('axis')?.value ?? -1);
    if (r === null || (axis !== -1 && axis !== r - 1)) {
      miss('softmax is not over the last axis');
      continue;
    }
    if (sm.attrs.has('coerce_2d') && axis !== r - 1 && axis !== -1) continue;
    // Inference-time dropout on the probabilities is a no-op in between.
    const skipped: Node[] = [];
    let probs = sm.outputs[0];
    let pv = single(probs, g);
    while (pv && (pv.op === 'msgraph.dropout' || pv.op === 'msgraph.identity') && pv.outputs[0] && pv.outputs.slice(1).every((o) => !o || o.uses.length === 0)) {
      skipped.push(pv);
      probs = pv.outputs[0];
      pv = single(probs, g);
    }
    if (!pv || pv.op !== 'mint.matmul' || pv.inputs[0] !== probs || !pv.outputs[0]) {
      miss('softmax output is not only the left operand of a matmul');
      continue;
    }
    const chain: Node[] = [pv, ...skipped, sm];
    let cur = sm.inputs[0];
    let mask: Value | null = null;
    let scale = 1;
    let p = cur?.producer ?? null;
    let keepMask: { cond: Value; negate: boolean } | null = null;
    if (p && p.op === 'mint.where' && single(cur, g) === sm) {
      // masked_fill(cond, -inf): Where(cond, fill, scores) or Where(cond, scores, fill) with a very negative fill.
      const fill = (i: number) => {
        const c = scalar(constOf(p!.inputs[i]));
        return c !== null && c <= -1e4;
      };
      const side = fill(1) ? 2 : fill(2) ? 1 : -1;
      if (side < 0 || !p.inputs[0]) {
        miss('the softmax input is a Where that does not mask with a large negative constant');
        continue;
      }
      keepMask = { cond: p.inputs[0], negate: side === 2 };
      chain.push(p);
      cur = p.inputs[side];
      p = cur?.producer ?? null;
    } else if (p && p.op === 'mint.add' && single(cur, g) === sm) {
      // Which side carries the scores: the one that leads to the Q·Kᵀ matmul.
      const leads = (v: Value | null) => {
        let q = v?.producer;
        if (q && (q.op === 'mint.mul' || q.op === 'mint.div')) q = q.inputs[0]?.producer;
        return !!q && q.op === 'mint.matmul';
      };
      const side = leads(p.inputs[0]) ? 0 : leads(p.inputs[1]) ? 1 : -1;
      if (side < 0) {
        miss('the added term is not next to a Q·Kᵀ matmul');
        continue;
      }
      mask = p.inputs[1 - side]!;
      chain.push(p);
      cur = p.inputs[side];
      p = cur?.producer ?? null;
    }
    if (p && (p.op === 'mint.mul' || p.op === 'mint.div') && single(cur, g) === chain[chain.length - 1]) {
      const c = scalar(constOf(p.inputs[1])) ?? (p.op === 'mint.mul' ? scalar(constOf(p.inputs[0])) : null);
      if (c === null) {
        miss('the scores are scaled by a value that is not a constant scalar');
        continue;
      }
      const scoresSide = scalar(constOf(p.inputs[1])) !== null ? 0 : 1;
      scale = p.op === 'mint.mul' ? c : 1 / c;
      chain.push(p);
      cur = p.inputs[scoresSide];
      p = cur?.producer ?? null;
    }
    if (!p || p.op !== 'mint.matmul' || single(cur, g) !== chain[chain.length - 1]) {
      miss('no Q·Kᵀ matmul feeds the softmax');
      continue;
    }
    chain.push(p);
    let q = p.inputs[0]!;
    let k = p.inputs[1]!;
    let keyTransposed = 1;
    const t = k.producer;
    const permAttr = t?.attrs.get('perm');
    // K·perm then a swap of the last two dims is one permutation: the swap is folded into it, but only in the
    // rewrite below, once every check has passed (matching never edits the graph).
    let foldSwap: (() => void) | null = null;
    if (t && t.op === 'mint.permute' && single(k, g) === p && permAttr?.type === 'ints' && permAttr.value.length >= 2) {
      if (swapsLastTwo(t)) {
        chain.push(t);
        k = t.inputs[0]!;
      } else {
        const perm = permAttr.value.map(Number);
        const r = perm.length;
        [perm[r - 2], perm[r - 1]] = [perm[r - 1]!, perm[r - 2]!];
        const kv = k;
        foldSwap = () => {
          t.setAttr('perm', { type: 'ints', value: perm });
          const ks = kv.type?.kind === 'tensor' ? kv.type.shape : null;
          if (ks && ks.length === r) {
            const swapped = [...ks];
            [swapped[r - 2], swapped[r - 1]] = [swapped[r - 1]!, swapped[r - 2]!];
            kv.type = { ...kv.type!, shape: swapped } as typeof kv.type;
          }
        };
      }
      keyTransposed = 0;
    }
    // The scale applied to Q (torch's q / sqrt(d), nn.MultiheadAttention) or to K instead of the scores.
    const scaled = (x: Value): [Value, number] | null => {
      const sp = x.producer;
      if (!sp || (sp.op !== 'mint.mul' && sp.op !== 'mint.div') || !chain.includes(single(x, g)!)) return null;
      const c = scalar(constOf(sp.inputs[1]));
      if (c === null || !Number.isFinite(c) || c === 0 || !sp.inputs[0]) return null;
      chain.push(sp);
      return [sp.inputs[0], sp.op === 'mint.mul' ? c : 1 / c];
    };
    const sq = scaled(q);
    if (sq) [q, scale] = [sq[0], scale * sq[1]];
    const sk = scaled(k);
    if (sk) [k, scale] = [sk[0], scale * sk[1]];
    const v = pv.inputs[1]!;
    const rq = rank(q);
    if (rq === null || rq < 3 || rank(v) !== rq) {
      miss('Q and V are not rank-3 or rank-4 tensors of one rank');
      continue;
    }
    // baddbmm(zeros, Q, Kᵀ, beta=0) exports a zero mask (ConstantOfShape(0) * 0, or a zero constant once folded):
    // no mask at all.
    const maskConst = constOf(mask);
    if (maskConst && !maskConst.isString && num(fromTensor(maskConst)).every((x) => x === 0)) mask = null;
    const mp = mask?.producer;
    if (mp && mp.op === 'mint.mul' && scalar(constOf(mp.inputs[1])) === 0 && mp.inputs[0]?.producer?.op === 'msgraph.constant_of_shape') {
      const fill = mp.inputs[0].producer.attrs.get('value');
      const zero = fill?.type !== 'tensor' || num(fromTensor(fill.value)).every((x) => x === 0);
      if (zero) mask = null;
    }
    foldSwap?.();
    if (keepMask) {
      if (keepMask.negate) {
        const not = new Node({ op: 'mint.logical_not', domain: 'mint', name: `${sm.name}_keep`, inputs: [keepMask.cond], outputs: [new Value(`${keepMask.cond.name}_keep`, keepMask.cond.type)] });
        g.insertBefore(pv, not);
        mask = not.outputs[0]!;
      } else mask = keepMask.cond;
    }
    const out = pv.outputs[0];
    const attrs: [string, import('../../ir/attribute.js').Attribute][] = [
      ['scale', { type: 'float', value: scale }],
      ['key_transposed', { type: 'int', value: keyTransposed }],
    ];
    replaceWithNode(g, { op: SDPA_OP, name: scopedName(sm, 'ScaledDotProductAttention'), inputs: mask ? [q, k, v, mask] : [q, k, v], attrs }, out, pv, chain, sm);
    report.fused++;
  }
  return report;
}

export const fuseAttentionPass: Pass = {
  name: 'fuse-attention',
  description: 'softmax(Q·Kᵀ·scale [+ mask])·V into one scaled_dot_product_attention node',
  run(model) {
    const r = fuseAttention(model.graph, constantsOf(model));
    return { ...result({ attention: r.fused }), nearMisses: r.nearMisses };
  },
};
