/**
 * Multi-head attention: a fused `scaled_dot_product_attention` whose Q, K and V come from [B, S, D] tensors through
 * torch's head split (Reshape to [B, S, H, d] -> Transpose(0, 2, 1, 3), optionally folded into the batch as
 * [B*H, S, d]) and whose result goes back through the matching head merge to [B, S, D] becomes one
 * `msgraph.multi_head_attention` node on the [B, S, D] tensors (com.microsoft.MultiHeadAttention's layout). Sizes
 * read off the per-head tensors (Shape nodes building the reshapes) go with the block when nothing else needs them.
 * nn.MultiheadAttention's sequence-first split ([S, B*H, d] then Transpose(1, 0, 2)) has no such layout and stays.
 */
import type { Graph } from '../../ir/graph.js';
import type { Node } from '../../ir/node.js';
import { MHA_OP, SDPA_OP } from '../../dialect/fused.js';
import type { Match, Rule } from '../pattern.js';
import { fuse, ints, named, oneOf, op, rest, rulePass, shapeOf, shared } from '../pattern.js';

export { MHA_OP };

const permOf = (n: Node | undefined) => ints(n, 'perm')?.join() ?? null;

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
      if (o && g.outputs.includes(o)) return null;
      for (const u of o?.uses ?? []) if (!removed.has(u.node)) queue.push(u.node);
    }
  }
  // Everything in the closure must be shape arithmetic that reads only removed values, closure values or constants.
  for (const n of closure) {
    if (n.subgraphs().length) return null;
    if (n.inputs.some((i) => i && !i.const && i.producer && !closure.has(i.producer) && !removed.has(i.producer) && i.producer.op !== 'msgraph.constant')) return null;
  }
  return [...closure];
}

/**
 * A per-head tensor: [B, S, D] -> Reshape [B, S, H, d] -> Permute [-> Reshape [B*H, S, d]]. Every step may have
 * Shape readers (`removable` checks that it has no others).
 */
const head = (src: string) => {
  const perm = shared(named(op('mint.permute', shared(named(op('mint.reshape', src, rest), `${src}Split`))), `${src}Perm`));
  return oneOf(shared(named(op('mint.reshape', perm, rest), `${src}Fold`)), perm);
};
const sdpa = shared(named(op(SDPA_OP, head('q'), head('k'), head('v'), oneOf('mask', null)), 'sdpa'));
const merge = op('mint.reshape', shared(named(op('mint.permute', oneOf(shared(named(op('mint.reshape', sdpa, rest), 'unfold')), sdpa)), 'mergePerm')), rest);

/** The head count of one split, or why it is not a head split. */
function heads(m: Match, t: string, perm: string): number | string {
  const [split, fold] = [m.n[`${t}Split`]!, m.n[`${t}Fold`]];
  const s4 = shapeOf(split.outputs[0]);
  const s3 = shapeOf(m.v[t]);
  if (permOf(m.n[`${t}Perm`]) !== perm) return `${t.toUpperCase()}'s head split is not permuted (${perm})`;
  if (!s4 || s4.length !== 4 || typeof s4[2] !== 'number' || typeof s4[3] !== 'number' || s3?.length !== 3 || s3[2] !== s4[2] * s4[3]) return `${t.toUpperCase()} is not reshaped from [B, S, D] to [B, S, H, d]`;
  return fold && shapeOf(fold.outputs[0])?.length !== 3 ? `${t.toUpperCase()}'s heads are not folded into the batch` : s4[2];
}

function removable(m: Match, g: Graph): Node[] | string {
  const removed = new Set(m.nodes);
  for (const n of m.nodes) {
    for (const o of n.outputs) {
      if (!o || o === m.root.outputs[0]) continue;
      if (g.outputs.includes(o) || o.uses.some((u) => !removed.has(u.node) && u.node.op !== 'msgraph.shape')) return `${o.name} is read outside the attention block`;
    }
  }
  return shapeClosure(removed, g) ?? 'sizes read from the per-head tensors are used outside the attention block';
}

export const MHA_RULES: Rule[] = [{
  name: 'multi_head_attention', label: 'multi-head attention', anchor: SDPA_OP, pattern: merge, open: true,
  check(m, cx) {
    const kt = Number(m.n.sdpa!.attrs.get('key_transposed')?.value ?? 0) === 1;
    const h = [heads(m, 'q', '0,2,1,3'), heads(m, 'k', kt ? '0,2,3,1' : '0,2,1,3'), heads(m, 'v', '0,2,1,3')];
    const bad = h.find((x) => typeof x === 'string');
    if (bad) return bad as string;
    if (h[0] !== h[1] || h[0] !== h[2]) return 'Q, K and V split into different head counts';
    if (!!m.n.qFold !== !!m.n.unfold || (m.n.unfold && shapeOf(m.n.unfold.outputs[0])?.[1] !== h[0])) return 'the result is not unfolded into the same heads';
    if (permOf(m.n.mergePerm) !== '0,2,1,3' || shapeOf(m.root.outputs[0])?.length !== 3) return 'the result is not merged back to [B, S, D]';
    // An additive [B|1, H|1, S|1, L] bias or a boolean keep-mask of that shape (GPT's causal mask; the ONNX Runtime
    // lowering expands what attention_bias cannot broadcast and turns a boolean mask into a bias).
    const [mask, ms, seq] = [m.v.mask, shapeOf(m.v.mask), shapeOf(m.v.q)?.[1]];
    const kind = mask?.type?.kind === 'tensor' ? (mask.type.dtype?.name === 'bool' ? 'bool' : mask.type.dtype?.kind) : null;
    if (mask && (ms?.length !== 4 || (kind !== 'float' && kind !== 'bool') || ms[2] === null || (ms[2] !== seq && ms[2] !== 1))) return 'the mask is not an additive float or boolean [B|1, H|1, S|1, L] tensor';
    const r = removable(m, cx.g);
    return typeof r === 'string' ? r : null;
  },
  rewrite(m, cx) {
    const also = removable(m, cx.g) as Node[];
    const heads = (shapeOf(m.n.qSplit!.outputs[0])![2] as number);
    fuse(m, cx, {
      op: MHA_OP, leaf: '', name: m.n.sdpa!.name.replace(/ScaledDotProductAttention$/, 'MultiHeadAttention'), source: m.n.sdpa, also, inputs: [m.v.q!, m.v.k!, m.v.v!, ...(m.v.mask ? [m.v.mask] : [])],
      attrs: [['num_heads', { type: 'int', value: heads }], ['scale', { type: 'float', value: Number(m.n.sdpa!.attrs.get('scale')?.value ?? 1) }]],
    });
  },
}];

export const fuseMhaPass = rulePass('fuse-mha', 'fused attention between head split and merge reshapes -> one multi-head attention on [B, S, D]', MHA_RULES);
