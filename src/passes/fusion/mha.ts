/**
 * Multi-head attention: a fused `scaled_dot_product_attention` whose Q, K and V come from [B, S, D] tensors through
 * torch's head split (Reshape to [B, S, H, d] -> Transpose(0, 2, 1, 3), optionally folded into the batch as
 * [B*H, S, d]) and whose result goes back through the matching head merge to [B, S, D] becomes one
 * `msgraph.multi_head_attention` node on the [B, S, D] tensors (com.microsoft.MultiHeadAttention's layout).
 */
import type { Graph } from '../../ir/graph.js';
import type { Node } from '../../ir/node.js';
import type { Dim } from '../../ir/shape.js';
import type { Value } from '../../ir/value.js';
import type { Pass } from '../pass.js';
import { result } from '../pass.js';
import { SDPA_OP } from './attention.js';
import { replaceWithNode } from '../util.js';

export const MHA_OP = 'msgraph.multi_head_attention';

const shapeOf = (v: Value | null | undefined): Dim[] | null => (v?.type?.kind === 'tensor' ? v.type.shape : null);
const perm = (n: Node) => (n.attrs.get('perm')?.value as number[] | undefined)?.map(Number) ?? null;
const same = (p: number[] | null, q: number[]) => !!p && p.length === q.length && p.every((x, i) => x === q[i]);

/**
 * The one real consumer of `v`: other uses may only be Shape nodes (torch reads sizes off the per-head tensors to
 * build the reshapes); they are checked and removed with the chain by `shapeClosure`.
 */
function single(v: Value | null | undefined, g: Graph): Node | null {
  if (!v || g.outputs.includes(v)) return null;
  const real = v.uses.filter((u) => u.node.op !== 'msgraph.shape');
  return real.length === 1 ? real[0]!.node : null;
}

/**
 * Nodes that only compute sizes from the values being removed and only feed the removed nodes; null when some of
 * that arithmetic is needed elsewhere.
 */
function shapeClosure(removed: Set<Node>, g: Graph): Node[] | null {
  const closure = new Set<Node>();
  const queue: Node[] = [];
  for (const n of removed) for (const o of n.outputs) for (const u of o?.uses ?? []) if (!removed.has(u.node) && u.node.op === 'msgraph.shape') queue.push(u.node);
  while (queue.length) {
    const n = queue.pop()!;
    if (closure.has(n) || removed.has(n)) continue;
    closure.add(n);
    for (const o of n.outputs) {
      if (!o) continue;
      if (g.outputs.includes(o)) return null;
      for (const u of o.uses) if (!removed.has(u.node)) queue.push(u.node);
    }
  }
  // Everything in the closure must be shape arithmetic that reads only removed values, closure values or constants.
  for (const n of closure) {
    if (n.subgraphs().length) return null;
    for (const i of n.inputs) {
      if (!i || i.const || !i.producer || closure.has(i.producer) || removed.has(i.producer) || i.producer.op === 'msgraph.constant') continue;
      return null;
    }
  }
  return [...closure];
}

/** From a per-head tensor back to [B, S, D]: the nodes to remove, the source and the head count. */
function headSplit(v: Value, g: Graph, transposedKey: boolean): { source: Value; heads: number; nodes: Node[] } | null {
  const nodes: Node[] = [];
  let cur = v;
  let p = cur.producer;
  // Head-folded [B*H, S, d]: a Reshape from [B, H, S, d].
  if (shapeOf(cur)?.length === 3) {
    if (!p || p.op !== 'mint.reshape' || single(cur, g) === null) return null;
    nodes.push(p);
    cur = p.inputs[0]!;
    p = cur.producer;
  }
  if (!p || p.op !== 'mint.permute' || single(cur, g) === null) return null;
  if (!same(perm(p), transposedKey ? [0, 2, 3, 1] : [0, 2, 1, 3])) return null;
  nodes.push(p);
  cur = p.inputs[0]!;
  p = cur.producer;
  const s4 = shapeOf(cur);
  if (!p || p.op !== 'mint.reshape' || single(cur, g) === null || !s4 || s4.length !== 4 || typeof s4[2] !== 'number' || typeof s4[3] !== 'number') return null;
  const src = p.inputs[0]!;
  const s3 = shapeOf(src);
  if (!s3 || s3.length !== 3 || s3[2] !== s4[2] * s4[3]) return null;
  nodes.push(p);
  return { source: src, heads: s4[2], nodes };
}

/** From the attention result forward to [B, S, D]. */
function headMerge(v: Value, g: Graph, heads: number): { out: Value; nodes: Node[] } | null {
  const nodes: Node[] = [];
  let cur = v;
  let n = single(cur, g);
  if (shapeOf(cur)?.length === 3) {
    const s = n ? shapeOf(n.outputs[0]) : null;
    if (!n || n.op !== 'mint.reshape' || !s || s.length !== 4 || s[1] !== heads) return null;
    nodes.push(n);
    cur = n.outputs[0]!;
    n = single(cur, g);
  }
  if (!n || n.op !== 'mint.permute' || !same(perm(n), [0, 2, 1, 3])) return null;
  nodes.push(n);
  cur = n.outputs[0]!;
  n = single(cur, g);
  const s = n ? shapeOf(n.outputs[0]) : null;
  if (!n || n.op !== 'mint.reshape' || !s || s.length !== 3) return null;
  nodes.push(n);
  return { out: n.outputs[0]!, nodes };
}

export function fuseMha(g: Graph): { fused: number; nearMisses: { node: string; reason: string }[] } {
  const report = { fused: 0, nearMisses: [] as { node: string; reason: string }[] };
  for (const a of [...g]) {
    if (a.op !== SDPA_OP || a.graph !== g) continue;
    const miss = (reason: string) => report.nearMisses.push({ node: a.name, reason });
    const [q, k, v, mask] = a.inputs;
    const qs = headSplit(q!, g, false);
    const ks = headSplit(k!, g, Number(a.attrs.get('key_transposed')?.value ?? 0) === 1);
    const vs = headSplit(v!, g, false);
    if (!qs || !ks || !vs) {
      // nn.MultiheadAttention splits heads from a sequence-first [S, B, E] tensor: Reshape to [S, B*H, d], then
      // Transpose(1, 0, 2); com.microsoft.MultiHeadAttention has no such layout.
      const p = q?.producer;
      const seqFirst = p?.op === 'mint.permute' && same(perm(p), [1, 0, 2]) && p.inputs[0]?.producer?.op === 'mint.reshape';
      miss(seqFirst
        ? "Q, K and V are split into heads from a sequence-first [S, B, E] tensor (nn.MultiheadAttention's layout), which MultiHeadAttention does not take"
        : 'Q, K or V does not come from a [B, S, D] tensor through a head split');
      continue;
    }
    if (qs.heads !== ks.heads || qs.heads !== vs.heads) {
      miss('Q, K and V split into different head counts');
      continue;
    }
    const merge = headMerge(a.outputs[0]!, g, qs.heads);
    if (!merge) {
      miss('the result is not merged back to [B, S, D]');
      continue;
    }
    // An additive [B|1, H|1, S|1, L] bias (a padding mask broadcasts over the query positions; the ONNX Runtime
    // lowering expands it, as com.microsoft's attention_bias broadcasts over batch and heads only).
    const ms = shapeOf(mask);
    const seq = shapeOf(qs.source)?.[1];
    if (mask && (ms?.length !== 4 || mask.type?.kind !== 'tensor' || mask.type.dtype?.kind !== 'float' || ms[2] === null || (ms[2] !== seq && ms[2] !== 1))) {
      miss('the mask is not an additive [B|1, H|1, S|1, L] float tensor');
      continue;
    }
    const removed = new Set([...merge.nodes, a, ...qs.nodes, ...ks.nodes, ...vs.nodes]);
    const extra = shapeClosure(removed, g);
    if (!extra) {
      miss('sizes read from the per-head tensors are used outside the attention block');
      continue;
    }
    const out = merge.out;
    replaceWithNode(g, {
      op: MHA_OP, name: a.name.replace(/ScaledDotProductAttention$/, 'MultiHeadAttention'),
      inputs: mask ? [qs.source, ks.source, vs.source, mask] : [qs.source, ks.source, vs.source],
      attrs: [['num_heads', { type: 'int', value: qs.heads }], ['scale', { type: 'float', value: Number(a.attrs.get('scale')?.value ?? 1) }]],
    }, out, merge.nodes[merge.nodes.length - 1]!, [...removed, ...extra], a);
    report.fused++;
  }
  return report;
}

export const fuseMhaPass: Pass = {
  name: 'fuse-mha',
  description: 'fused attention between head split and merge reshapes -> one multi-head attention on [B, S, D]',
  run(model) {
    const r = fuseMha(model.graph);
    return { ...result({ multi_head_attention: r.fused }), nearMisses: r.nearMisses };
  },
};
