/**
 * Normalisations from their decomposed exports, each a core rule that fuses the statistics with a unit weight, and
 * absorb rules that fold a following constant Mul (weight) and Add (bias) into the fused op:
 * - RMSNorm: x * rsqrt(mean(x^2, trailing axes) + eps), the square as Pow(x, 2) or Mul(x, x), rsqrt as
 *   Reciprocal(Sqrt), Div(1, Sqrt) or x / Sqrt (TorchScript, and torch_lib's `aten_rms_norm`) -> `msgraph.rms_norm`
 *   (SimplifiedLayerNormalization semantics: axis = first normalised axis);
 * - LayerNorm: d = x - mean(x); d / sqrt(mean(d^2) + eps) over trailing axes -> `layer_norm` (dynamo exports
 *   LayerNormalization itself);
 * - GroupNorm: Reshape(x, [N, G, -1]) -> InstanceNormalization(ones, zeros) -> Reshape back, the form of TorchScript
 *   and of torch_lib's `aten_group_norm` once its Expand/Unsqueeze constants are folded -> `group_norm`.
 * Weights must be float32 constants over the normalised dims (per channel for GroupNorm); the fused op's weight and
 * bias keep the names of the constants they came from (state_dict names where the exporter kept them).
 */
import type { Node } from '../../ir/node.js';
import type { Dim } from '../../ir/shape.js';
import type { DialectOp } from '../../dialect/op-names.js';
import { Tensor } from '../../ir/tensor.js';
import { Value } from '../../ir/value.js';
import type { Attribute } from '../../ir/attribute.js';
import { dt, fromTensor, num } from '../../ir/array.js';
import { GROUP_NORM_OP, LAYER_NORM_OP, RMS_NORM_OP } from '../../dialect/fused.js';
import type { Match, Operand, Rule, RuleContext } from '../pattern.js';
import { fuse, ints, k, named, oneOf, op, rest, rulePass, scalar, shapeOf, shared, tensor, where } from '../pattern.js';

const mul = (a: Operand, b: Operand) => op('mint.mul', a, b);
const add = (a: Operand, b: Operand) => op('mint.add', a, b);
const div = (a: Operand, b: Operand) => op('mint.div', a, b);
const square = (v: string) => oneOf(op('mint.pow', v, k(2)), mul(v, v));
const values = (t: Tensor) => Float32Array.from(num(fromTensor(t)));
const axesOf = (n: Node, rank: number) => ints(n, 'axes')?.map((x) => (x < 0 ? x + rank : x)).sort((p, q) => p - q) ?? null;

/** A mean over x's trailing axes, keeping them. */
const trailingMean = (input: Operand, what: string) => where(named(op('mint.mean', input), 'mean'), (n, m) => {
  if (Number(n.attrs.get('keepdims')?.value ?? 1) !== 1) return `the mean ${what} drops the reduced dims (keepdims=0)`;
  const rank = shapeOf(m.v.x)?.length;
  if (rank === undefined) return "the input's rank is unknown";
  const axes = axesOf(n, rank);
  return !axes?.length || axes.some((v, i) => v !== rank - axes.length + i) ? 'the mean is not over trailing axes' : null;
});

/** x's normalised dims, or why they cannot carry a float32 weight. */
function normDims(m: Match): number[] | string {
  const shape = shapeOf(m.v.x)!;
  const norm = shape.slice(shape.length - axesOf(m.n.mean!, shape.length)!.length);
  if (!norm.every((d): d is number => typeof d === 'number')) return `the normalised dims are symbolic ([${norm.join(', ')}])`;
  const dtype = m.v.x!.type?.kind === 'tensor' ? m.v.x!.type.dtype : null;
  return dtype?.name === 'float32' ? norm : `the input is ${dtype?.name ?? 'of unknown dtype'}, not float32`;
}

/** A new float32 initializer. */
function param(cx: RuleContext, name: string, dims: number[], data: Float32Array): Value {
  const v = cx.g.addInitializer(new Value(name), Tensor.fromArray(dt('float32'), dims, data, name));
  v.type = { kind: 'tensor', dtype: dt('float32'), shape: [...dims] };
  return v;
}

/** After a rewrite: `made` takes the name of the initializer `from` when nothing reads that one any more. */
function inherit(cx: RuleContext, made: Value, from: Value): void {
  if (from.kind !== 'const' || from.uses.length || cx.g.outputs.includes(from) || cx.g.inputs.includes(from)) return;
  cx.g.removeInitializer(from);
  made.name = from.name;
  made.const!.name = from.name;
}

/** The core rule's rewrite: the fused op with a unit weight (and a zero bias), named after the anchor. */
function unitNorm(api: DialectOp, leaf: string, attrs: (m: Match) => [string, Attribute][], dims: (m: Match) => number[], bias: boolean): Rule['rewrite'] {
  return (m, cx) => {
    const d = dims(m);
    const size = d.reduce((p, q) => p * q, 1);
    const source = m.n.mean ?? m.n.inorm!;
    const w = param(cx, `${source.name}_weight`, d, new Float32Array(size).fill(1));
    const b = bias ? param(cx, `${source.name}_bias`, d, new Float32Array(size)) : null;
    fuse(m, cx, { op: api, inputs: b ? [m.v.x!, w, b] : [m.v.x!, w], attrs: attrs(m), leaf, source });
  };
}

/**
 * norm(x, w, b) * gamma -> norm(x, w * gamma, b * gamma) and (with a bias) norm(x, w, b) + beta -> norm(x, w, b + beta), where
 * `fits` says the constant holds one value per weight element. A unit weight or zero bias (a core rule's
 * placeholder) takes the folded constant's name.
 */
function absorb(api: DialectOp, name: string, label: string, fits: (shape: readonly Dim[], w: Tensor, m: Match) => boolean, bias = true): Rule[] {
  const norm = named(op(api, 'x', tensor('w'), oneOf(tensor('b'), null)), 'norm');
  // torch_lib unsqueezes the parameter in the graph (Unsqueeze(weight, Range(1, rank - 1))): the values are the same.
  const weightOf = (as: string) => oneOf(tensor(as), named(op('mint.unsqueeze', tensor(as), rest), `${as}Unsqueezed`));
  // The shape the Mul or Add reads (after the Unsqueeze), which decides how it broadcasts.
  const shape = (m: Match, c: string) => shapeOf(m.n[`${c}Unsqueezed`]?.outputs[0]) ?? m.t[c]!.dims;
  const check = (c: string) => (m: Match) => (fits(shape(m, c), m.t.w!, m) && m.t[c]!.size === m.t.w!.size && m.t[c]!.dtype.name === 'float32' ? null : `${m.v[c]!.name} is not one float32 value per normalised element`);
  const rewrite = (c: string, scale: boolean): Rule['rewrite'] => (m, cx) => {
    const [w, b, t] = [values(m.t.w!), m.t.b ? values(m.t.b) : null, values(m.t[c]!)];
    const dims = [...m.t.w!.dims];
    const made = (from: Value, data: Float32Array) => [param(cx, `${from.name}_folded`, dims, data), from] as const;
    const unit = (a: Float32Array | null, v: number) => !a || a.every((x) => x === v);
    const nw = scale ? made(unit(w, 1) ? m.v[c]! : m.v.w!, w.map((x, i) => x * t[i]!)) : null;
    const nb = scale ? (b ? made(m.v.b!, b.map((x, i) => x * t[i]!)) : null) : made(unit(b, 0) ? m.v[c]! : m.v.b!, t.map((x, i) => x + (b?.[i] ?? 0)));
    const attrs = [...m.n.norm!.attrs].filter(([key]) => key !== 'affine');
    const inputs = [m.v.x!, nw?.[0] ?? m.v.w!, ...(nb ? [nb[0]] : [])];
    fuse(m, cx, { op: api, inputs, attrs, leaf: '', name: m.n.norm!.name, source: m.n.norm });
    for (const p of [nw, nb]) if (p) inherit(cx, p[0], p[1]);
  };
  const rules: Rule[] = [{ name, label, refines: true, pattern: mul(norm, weightOf('gamma')), check: check('gamma'), rewrite: rewrite('gamma', true) }];
  return bias ? [...rules, { name, label, refines: true, pattern: add(norm, weightOf('beta')), check: check('beta'), rewrite: rewrite('beta', false) }] : rules;
}

const epsAttrs = (m: Match): [string, Attribute][] => {
  const rank = shapeOf(m.v.x)!.length;
  return [['axis', { type: 'int', value: rank - axesOf(m.n.mean!, rank)!.length }], ['epsilon', { type: 'float', value: m.c.eps! }]];
};
/** `shape` broadcasts onto `dims` as the trailing dims of x: the same dims, right-aligned, and 1s before them. */
const trailing = (shape: readonly Dim[], dims: readonly Dim[]) => {
  const lead = shape.length - dims.length;
  return shape.every((d, i) => (i < lead ? d === 1 : d === dims[i - lead]));
};
const perElement = (shape: readonly Dim[], w: Tensor) => trailing(shape, w.dims);
const dimsOr = (m: Match) => normDims(m) as number[];
const normCheck = (m: Match) => {
  const d = normDims(m);
  return typeof d === 'string' ? d : null;
};

const rmsDen = op('mint.sqrt', add(trailingMean(square('x'), 'of the square'), scalar('eps')));
export const RMS_NORM_RULES: Rule[] = [
  {
    name: 'rms_norm', label: 'RMSNorm', anchor: 'mint.mean',
    anchorIf: (n) => { const p = n.inputs[0]?.producer; return !!p && (p.op === 'mint.pow' || (p.op === 'mint.mul' && p.inputs[0] === p.inputs[1])); },
    pattern: [div('x', rmsDen), mul('x', op('mint.reciprocal', rmsDen)), mul('x', div(k(1), rmsDen))],
    check: normCheck, rewrite: unitNorm(RMS_NORM_OP, 'RMSNorm', epsAttrs, dimsOr, false),
  },
  ...absorb(RMS_NORM_OP, 'rms_norm_affine', 'RMSNorm', perElement, false),
];

const lnMean = trailingMean('x', 'of x');
const d = shared(named(op('mint.sub', 'x', lnMean), 'd'));
const variance = where(op('mint.mean', square('d')), (n, m) => {
  const rank = shapeOf(m.v.x)!.length;
  return axesOf(n, rank)?.join() === axesOf(m.n.mean!, rank)!.join() ? null : "the variance is not over the mean's axes";
});
export const LAYER_NORM_RULES: Rule[] = [
  {
    name: 'layer_norm', label: 'LayerNorm', anchor: 'mint.mean',
    anchorIf: (n) => n.outputs[0]!.uses.some((u) => u.node.op === 'mint.sub' && u.node.inputs[0] === n.inputs[0] && u.index === 1),
    pattern: div(d, op('mint.sqrt', add(variance, scalar('eps')))),
    check: normCheck, rewrite: unitNorm(LAYER_NORM_OP, 'LayerNormalization', epsAttrs, dimsOr, false),
  },
  ...absorb(LAYER_NORM_OP, 'layer_norm_affine', 'LayerNorm', perElement),
];

const ones = (t: Tensor, v: number) => num(fromTensor(t)).every((x) => x === v);
const inorm = where(named(op('msgraph.instance_norm', op('mint.reshape', 'x', rest), tensor('scale'), tensor('shift')), 'inorm'),
  (_n, m) => (ones(m.t.scale!, 1) && ones(m.t.shift!, 0) ? null : "the instance norm has its own scale/bias (not torch GroupNorm's ones/zeros)"));
const backToX = where(op('mint.reshape', inorm, rest), (n, m) => {
  const [xs, ys] = [shapeOf(m.v.x), shapeOf(n.outputs[0])];
  return xs && ys && ys.length === xs.length && ys.every((dim, i) => dim !== null && dim === xs[i]) ? null : "the instance norm is not reshaped back to the input's shape";
});
const channels = (m: Match) => shapeOf(m.v.x)?.[1];
export const GROUP_NORM_RULES: Rule[] = [
  {
    name: 'group_norm', label: 'GroupNorm', anchor: 'msgraph.instance_norm', anchorIf: (n) => n.inputs[0]?.producer?.op === 'mint.reshape',
    pattern: backToX,
    check: (m) => (shapeOf(m.v.x)!.length >= 3 && typeof channels(m) === 'number' && m.t.scale!.dtype.name === 'float32' ? null : 'the channel count of the input is not static'),
    rewrite: unitNorm(GROUP_NORM_OP, 'GroupNorm', (m) => [
      ['num_groups', { type: 'int', value: m.t.scale!.dims[0]! }], ['epsilon', { type: 'float', value: Number(m.n.inorm!.attrs.get('epsilon')?.value ?? 1e-5) }],
      // torch's GroupNorm(affine=False) until a Mul/Add is folded in; lowering drops this marker.
      ['affine', { type: 'int', value: 0 }],
    ], (m) => [channels(m) as number], true),
  },
  // Per channel: [C, 1, ...] against x's [N, C, ...] (or [C], unsqueezed in the graph).
  ...absorb(GROUP_NORM_OP, 'group_norm_affine', 'GroupNorm', (shape, w, m) => trailing(shape, [w.size, ...new Array<number>(shapeOf(m.v.x)!.length - 2).fill(1)])),
];

export const fuseRmsNormPass = rulePass('fuse-rms-norm', 'RMSNorm from Pow/ReduceMean/Add/Sqrt/Reciprocal (or Div)/Mul [/Mul weight]', RMS_NORM_RULES);
export const fuseLayerNormPass = rulePass('fuse-layer-norm', 'LayerNorm from ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div [/Mul/Add]', LAYER_NORM_RULES);
export const fuseGroupNormPass = rulePass('fuse-group-norm', 'GroupNorm from Reshape -> InstanceNormalization -> Reshape [-> Mul -> Add]', GROUP_NORM_RULES);
