/**
 * Attention on the mint dialect: softmax(Q·Kᵀ·scale [+ mask]) · V becomes one `msgraph.scaled_dot_product_attention`
 * node. The forms: per-head 4-D and head-flattened 3-D (bmm/baddbmm) matmuls; the scale as Mul or Div on the
 * scores, on Q and on K (before or after Kᵀ: dynamo's torch_lib multiplies Q and Kᵀ each by sqrt(scale)); an
 * additive mask (baddbmm's beta·input, and torch_lib's float, boolean and causal masks, which it turns into an
 * additive one); a boolean mask through Where(cond, -inf, scores) (masked_fill); dropout, identity or a broadcast
 * to their own shape on the probabilities; and Kᵀ as a transpose of the last two dims (absorbed), another permutation (the swap folded into it)
 * or any other tensor (kept, flagged). The head-folded form whose scores and probabilities are viewed as
 * [B, H, S, L] around the softmax (the LLM exports' `view`s) fuses in 3-D, its mask broadcast and folded likewise.
 */
import { Node } from '../../ir/node.js';
import type { Attribute } from '../../ir/attribute.js';
import { Value } from '../../ir/value.js';
import { dt, fromTensor, num } from '../../ir/array.js';
import { Tensor } from '../../ir/tensor.js';
import { SDPA_OP } from '../../dialect/fused.js';
import type { Match, Operand, Rule, RuleContext } from '../pattern.js';
import { constScalar, fuse, ints, named, oneOf, op, rest, rulePass, scalar, shapeOf, where } from '../pattern.js';

export { SDPA_OP };

const rank = (v: Value | null | undefined) => shapeOf(v)?.length ?? null;
const perm = (n: Node | undefined) => ints(n, 'perm');
const swapsLastTwo = (p: number[] | null) => !!p && p.length >= 2 && p.every((x, i) => (i < p.length - 2 ? x === i : x === (i === p.length - 2 ? p.length - 1 : p.length - 2)));

/** x, x * c or x / c (the constant named `as`). */
const scaled = (x: Operand, as: string) => oneOf(op('mint.mul', x, scalar(`${as}*`)), op('mint.div', x, scalar(`${as}/`)), x);
const kT = scaled(oneOf(where(named(op('mint.permute', scaled('k', 'k0')), 'kperm'), (n) => (swapsLastTwo(perm(n)) ? null : 'not a swap')), 'k'), 'k1');
const qk = op('mint.matmul', scaled('q', 'q'), kT);
/** The scores and the probabilities are either both or neither viewed as [B, H, S, L] around the softmax. */
const scores = scaled(oneOf(qk, named(op('mint.reshape', qk, rest), 'view4')), 's');
const masked = oneOf(
  op('mint.add', scores, 'mask'),
  named(op('mint.where', 'cond', scalar('fill'), scores), 'dropWhere'),
  named(op('mint.where', 'cond', scores, scalar('fill')), 'keepWhere'),
  scores,
);
const softmax = where(named(op('mint.softmax', masked), 'softmax'), (n) => {
  const axis = Number(n.attrs.get('axis')?.value ?? -1);
  return axis === -1 || axis === rank(n.outputs[0])! - 1 ? null : 'softmax is not over the last axis';
});
/** Steps that leave the probabilities as they are: inference dropout, identity, a broadcast to their own shape. */
const skip = (p: Operand) => where(op(['msgraph.dropout', 'msgraph.identity', 'mint.broadcast_to'], p, rest, rest), (n) => {
  const [a, b] = [n.inputs[0]!.type, n.outputs[0]!.type];
  const same = a?.kind === 'tensor' && b?.kind === 'tensor' && !!a.shape && JSON.stringify(a.shape) === JSON.stringify(b.shape);
  return n.op !== 'mint.broadcast_to' || same ? null : 'the probabilities are broadcast to another shape';
});
const probs = oneOf(softmax, skip(softmax), skip(skip(softmax)));

function check(m: Match, cx: RuleContext): string | null {
  const [q, v] = [m.v.q!, m.v.v!];
  if ((rank(q) ?? 0) < 3 || rank(v) !== rank(q)) return 'Q and V are not rank-3 or rank-4 tensors of one rank';
  if (!!m.n.view4 !== !!m.n.view3) return 'the scores are viewed in another layout than the probabilities';
  if (m.n.view4 && m.v.mask && !viewShape(m, cx)) return 'the [B, H, S, L] view has neither a shape input nor a static shape to broadcast the mask to';
  if ((m.n.dropWhere || m.n.keepWhere) && m.c.fill! > -1e4) return 'the softmax input is a Where that does not mask with a large negative constant';
  if (Object.keys(m.c).some((c) => /[*/]$/.test(c) && (!Number.isFinite(m.c[c]!) || m.c[c] === 0))) return 'a scale is zero or not finite';
  return null;
}

/** The [B, H, S, L] view's shape: its shape input, or a new constant when its result's shape is static. */
function viewShape(m: Match, cx: RuleContext, make = false): Value | null {
  const [given, shape] = [m.n.view4!.inputs[1], shapeOf(m.n.view4!.outputs[0])];
  if (given || !shape?.every((d): d is number => typeof d === 'number')) return given ?? null;
  const name = `${m.n.softmax!.name}_bhsl`;
  return make ? cx.g.addConstant(name, Tensor.fromArray(dt('int64'), [shape.length], BigInt64Array.from(shape.map(BigInt)), name)) : m.n.view4!.outputs[0]!;
}

/** baddbmm(zeros, Q, Kᵀ, beta=0) exports a zero mask (ConstantOfShape(0) * 0, or a zero constant once folded). */
function isZero(mask: Value | undefined, cx: RuleContext): boolean {
  const t = cx.constOf(mask);
  if (t && !t.isString) return num(fromTensor(t)).every((x) => x === 0);
  const p = mask?.producer;
  const fill = p?.inputs[0]?.producer?.attrs.get('value');
  return p?.op === 'mint.mul' && constScalar(cx.constOf, p.inputs[1]) === 0 && p.inputs[0]?.producer?.op === 'msgraph.constant_of_shape' &&
    (fill?.type !== 'tensor' || num(fromTensor(fill.value)).every((x) => x === 0));
}

function rewrite(m: Match, cx: RuleContext): void {
  const g = cx.g;
  let scale = 1;
  for (const [c, x] of Object.entries(m.c)) if (c.endsWith('*')) scale *= x; else if (c.endsWith('/')) scale /= x;
  let k = m.v.k!;
  let keyTransposed = 1;
  const kp = k.producer;
  if (m.n.kperm) keyTransposed = 0;
  else if (kp?.op === 'mint.permute' && k.uses.length === 1 && (perm(kp)?.length ?? 0) >= 2) {
    // K·perm then a swap of the last two dims is one permutation: the swap goes into K's permute.
    const p = perm(kp)!;
    const r = p.length;
    [p[r - 2], p[r - 1]] = [p[r - 1]!, p[r - 2]!];
    kp.setAttr('perm', { type: 'ints', value: p });
    const ks = shapeOf(k);
    if (ks?.length === r) k.type = { ...k.type!, shape: [...ks.slice(0, r - 2), ks[r - 1]!, ks[r - 2]!] } as typeof k.type;
    keyTransposed = 0;
  }
  let mask: Value | null = isZero(m.v.mask, cx) ? null : m.v.mask ?? null;
  const before = (n: Node) => (g.insertBefore(m.root, n), n.outputs[0]!);
  if (m.n.dropWhere) mask = before(new Node({ op: 'mint.logical_not', domain: 'mint', name: `${m.n.softmax!.name}_keep`, inputs: [m.v.cond!], outputs: [new Value(`${m.v.cond!.name}_keep`, m.v.cond!.type)] }));
  else if (m.n.keepWhere) mask = m.v.cond!;
  if (mask && m.n.view4) {
    // The 3-D form: the mask broadcast to the [B, H, S, L] view, then folded as the probabilities are.
    const t4 = m.n.view4.outputs[0]!.type;
    const wide = before(new Node({ op: 'mint.broadcast_to', domain: 'mint', name: `${m.n.softmax!.name}_mask4`, inputs: [mask, viewShape(m, cx, true)], outputs: [new Value(`${mask.name}_bhsl`, t4 && mask.type?.kind === 'tensor' && t4.kind === 'tensor' ? { ...t4, dtype: mask.type.dtype } : null)] }));
    mask = before(new Node({ op: 'mint.reshape', domain: 'mint', name: `${m.n.softmax!.name}_mask3`, inputs: [wide, m.n.view3!.inputs[1] ?? null], attrs: [...m.n.view3!.attrs], outputs: [new Value(`${mask.name}_folded`, null)] }));
    const t3 = m.n.view3!.outputs[0]!.type;
    if (t3?.kind === 'tensor' && wide.type?.kind === 'tensor') mask.type = { ...t3, dtype: wide.type.dtype };
  }
  const attrs: [string, Attribute][] = [['scale', { type: 'float', value: scale }], ['key_transposed', { type: 'int', value: keyTransposed }]];
  fuse(m, cx, { op: SDPA_OP, inputs: mask ? [m.v.q!, k, m.v.v!, mask] : [m.v.q!, k, m.v.v!], attrs, leaf: 'ScaledDotProductAttention', source: m.n.softmax });
}

export const ATTENTION_RULES: Rule[] = [{
  name: 'attention', label: 'attention', anchor: 'mint.softmax', check, rewrite,
  pattern: [op('mint.matmul', probs, 'v'), op('mint.matmul', named(op('mint.reshape', probs, rest), 'view3'), 'v')],
}];

export const fuseAttentionPass = rulePass('fuse-attention', 'softmax(Q·Kᵀ·scale [+ mask])·V into one scaled_dot_product_attention node', ATTENTION_RULES);
