/** Elementwise math, activations, comparisons and logic. */
import type { Dim } from '../../../ir/shape.js';
import { dim } from '../../../ir/symbolic.js';
import type { InferCtx, KnownValue, OpDef } from '../types.js';
import { api, boolT, broadcastInputs, decompose, def, known, onnxDtype, sameAsInput } from '../helpers.js';

const F = 'mint.nn.functional.';

const unary: [string, number, string | ReturnType<typeof decompose>][] = [
  ['Abs', 1, 'mint.abs'], ['Neg', 1, 'mint.neg'], ['Floor', 1, 'mint.floor'], ['Ceil', 1, 'mint.ceil'],
  ['Round', 11, 'mint.round'], ['Sign', 9, 'mint.sign'], ['Sqrt', 1, 'mint.sqrt'], ['Reciprocal', 1, 'mint.reciprocal'],
  ['Exp', 1, 'mint.exp'], ['Log', 1, 'mint.log'], ['Erf', 9, 'mint.erf'], ['Tanh', 1, 'mint.tanh'],
  ['Sigmoid', 1, 'mint.sigmoid'], ['Sin', 7, 'mint.sin'], ['Cos', 7, 'mint.cos'], ['Tan', 7, 'mint.tan'],
  ['Asin', 7, 'mint.asin'], ['Acos', 7, 'mint.acos'], ['Atan', 7, 'mint.atan'], ['Sinh', 9, 'mint.sinh'],
  ['Cosh', 9, 'mint.cosh'], ['Asinh', 9, 'mint.asinh'], ['Acosh', 9, 'mint.acosh'], ['Atanh', 9, 'mint.atanh'],
  ['Relu', 1, `${F}relu`], ['LeakyRelu', 1, `${F}leaky_relu`], ['Elu', 1, `${F}elu`], ['Selu', 1, `${F}selu`],
  ['HardSwish', 14, `${F}hardswish`], ['Softplus', 1, `${F}softplus`], ['Mish', 18, `${F}mish`],
  ['Gelu', 20, `${F}gelu`], ['BitwiseNot', 18, 'mint.bitwise_not'],
  ['Celu', 12, decompose([`${F}elu`, 'mint.div', 'mint.mul'], 'celu(x, a) = elu(x / a) * a')],
  ['Softsign', 1, decompose(['mint.abs', 'mint.add', 'mint.div'], 'x / (1 + |x|)')],
  ['ThresholdedRelu', 10, decompose(['mint.where', 'mint.gt', 'mint.zeros_like'], 'where(x > alpha, x, 0)')],
  ['Shrink', 9, decompose(['mint.where', 'mint.gt', 'mint.lt', 'mint.add', 'mint.sub'], 'piecewise by lambd and bias')],
];

const binary: [string, number, string][] = [
  ['Add', 7, 'mint.add'], ['Sub', 7, 'mint.sub'], ['Mul', 7, 'mint.mul'], ['Div', 7, 'mint.div'], ['Pow', 7, 'mint.pow'],
  ['BitwiseAnd', 18, 'mint.bitwise_and'], ['BitwiseOr', 18, 'mint.bitwise_or'], ['BitwiseXor', 18, 'mint.bitwise_xor'],
];

const compare: [string, number, string][] = [
  ['Equal', 7, 'mint.eq'], ['Less', 7, 'mint.lt'], ['Greater', 7, 'mint.gt'], ['LessOrEqual', 12, 'mint.le'],
  ['GreaterOrEqual', 12, 'mint.greater_equal'], ['And', 7, 'mint.logical_and'], ['Or', 7, 'mint.logical_or'],
  ['Xor', 7, 'mint.logical_xor'],
];

/**
 * Shape arithmetic on known integer values (Add/Sub/Mul/Div of dims, Equal against -1 sentinels), so chains like
 * Shape -> Gather -> Mul -> Concat -> Reshape resolve to symbolic shapes.
 */
function propagate(ctx: InferCtx, op: string): void {
  const a = ctx.value(0);
  const b = ctx.value(1);
  if (!a || !b) return;
  const dt = ctx.need(0).dtype;
  if (!BOOLEAN.has(op) && dt && dt.kind !== 'int' && dt.kind !== 'uint') return;
  const n = Math.max(a.elems.length, b.elems.length);
  if (a.elems.length !== n && a.elems.length !== 1) return;
  if (b.elems.length !== n && b.elems.length !== 1) return;
  const at = (v: KnownValue, i: number) => v.elems[v.elems.length === 1 ? 0 : i] ?? null;
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const x = at(a, i);
    const y = at(b, i);
    switch (op) {
      case 'Add': out.push(dim.add(x, y)); break;
      case 'Sub': out.push(dim.sub(x, y)); break;
      case 'Mul': out.push(dim.mul(x, y)); break;
      // ONNX integer Div truncates; dims are non-negative so it is a floor division.
      case 'Div': out.push(typeof x === 'number' && typeof y === 'number' ? Math.trunc(x / y) : dim.floorDiv(x, y)); break;
      case 'Mod':
        if (typeof x !== 'number' || typeof y !== 'number' || y === 0) out.push(null);
        else out.push(ctx.attrInt('fmod', 0) ? x % y : ((x % y) + y) % y);
        break;
      case 'Less':
      case 'Greater':
      case 'LessOrEqual':
      case 'GreaterOrEqual':
      case 'And':
      case 'Or':
      case 'Max':
      case 'Min':
        out.push(typeof x === 'number' && typeof y === 'number' ? NUMERIC[op](x, y) : null);
        break;
      case 'Equal':
        if (x === null || y === null) out.push(null);
        else if (dim.equal(x, y)) out.push(1);
        // A symbolic dim is never negative, so it differs from the -1 sentinel.
        else if (typeof x === 'number' && typeof y === 'number') out.push(0);
        else if ((typeof x === 'number' && x < 0) || (typeof y === 'number' && y < 0)) out.push(0);
        else out.push(null);
        break;
      default: return;
    }
  }
  const o = ctx.node.outputs[0]?.type;
  const shape = o?.kind === 'tensor' ? o.shape : null;
  ctx.setOutput(0, BOOLEAN.has(op) ? boolT : dt, shape, known(out, a.scalar && b.scalar));
}

const BOOLEAN = new Set(['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or']);
const NUMERIC: Record<string, (x: number, y: number) => number> = {
  Less: (x, y) => +(x < y), Greater: (x, y) => +(x > y), LessOrEqual: (x, y) => +(x <= y), GreaterOrEqual: (x, y) => +(x >= y),
  And: (x, y) => +(x !== 0 && y !== 0), Or: (x, y) => +(x !== 0 || y !== 0), Max: Math.max, Min: Math.min,
};

const asRef = (m: string | ReturnType<typeof decompose>) => (typeof m === 'string' ? api(m) : m);

/** Neg / Abs of known integers (shape arithmetic such as `-axis`). */
function unaryValue(op: string) {
  const f = op === 'Neg' ? (x: number) => -x : op === 'Abs' ? Math.abs : null;
  return (ctx: InferCtx) => {
    const x = ctx.need(0);
    const v = ctx.value(0);
    const value = f && v ? known(v.elems.map((e) => (typeof e === 'number' ? f(e) : op === 'Neg' && e !== null ? dim.sub(0, e) : null)), v.scalar) : undefined;
    ctx.setOutput(0, x.dtype, x.shape, value);
  };
}

export const ELEMENTWISE: OpDef[] = [
  ...unary.map(([op, since, m]) => def(op, [since], [asRef(m)], unaryValue(op))),
  def('HardSigmoid', [6], [api(`${F}hardsigmoid`, undefined, 'alpha=1/6, beta=0.5'), decompose(['mint.clamp', 'mint.mul', 'mint.add'], 'clamp(alpha*x + beta, 0, 1)', 'other alpha/beta')], sameAsInput),
  def('Identity', [1], [{ expr: 'x' }], (ctx) => {
    const x = ctx.need(0);
    ctx.setOutput(0, x.dtype, x.shape, ctx.value(0) ?? undefined);
  }),
  def('Dropout', [7], [{ expr: 'x (inference: dropout is the identity)' }], (ctx) => {
    sameAsInput(ctx);
    const x = ctx.need(0);
    if (ctx.node.outputs.length > 1) ctx.setOutput(1, boolT, x.shape);
  }, { inputs: [1, 3], outputs: [1, 2] }),
  def('IsNaN', [9], [api('mint.isnan')], (ctx) => ctx.setOutput(0, boolT, ctx.need(0).shape)),
  def('IsInf', [10], [api('mint.isinf')], (ctx) => ctx.setOutput(0, boolT, ctx.need(0).shape)),
  def('Not', [1], [api('mint.logical_not')], (ctx) => {
    const v = ctx.value(0);
    ctx.setOutput(0, boolT, ctx.need(0).shape, v ? known(v.elems.map((e) => (typeof e === 'number' ? +(e === 0) : null)), v.scalar) : undefined);
  }),
  ...binary.map(([op, since, m]) => def(op, [since], [api(m)], (ctx) => {
    broadcastInputs(ctx);
    propagate(ctx, op);
  }, { inputs: [2, 2] })),
  def('Mod', [10], [api('mint.remainder', undefined, 'fmod=0'), api('mint.fmod', undefined, 'fmod=1')], (ctx) => {
    broadcastInputs(ctx);
    propagate(ctx, 'Mod');
  }, { inputs: [2, 2] }),
  def('PRelu', [7], [api(`${F}prelu`)], (ctx) => broadcastInputs(ctx), { inputs: [2, 2] }),
  def('BitShift', [11], [decompose(['mint.mul', 'mint.div', 'mint.pow'], "x * 2**s, or div(x, 2**s, rounding_mode='floor')")], (ctx) => broadcastInputs(ctx), { inputs: [2, 2] }),
  ...[...binary.slice(0, 5), ...compare.slice(0, 3)].map(([op, , m]) =>
    def(op, [1, 6], [api(m)], (ctx) => (ctx.attrInt('broadcast', 0) ? sameAsInput(ctx) : broadcastInputs(ctx, compare.some((c) => c[0] === op) ? boolT : undefined)), { inputs: [2, 2] })),
  ...compare.map(([op, since, m]) => def(op, [since], [api(m)], (ctx) => {
    broadcastInputs(ctx, boolT);
    propagate(ctx, op);
  }, { inputs: [2, 2] })),
  def('Min', [6], [api('mint.minimum')], (ctx) => {
    broadcastInputs(ctx);
    if (ctx.inputCount === 2) propagate(ctx, 'Min');
  }, { inputs: [1, Infinity] }),
  def('Max', [6], [api('mint.maximum')], (ctx) => {
    broadcastInputs(ctx);
    if (ctx.inputCount === 2) propagate(ctx, 'Max');
  }, { inputs: [1, Infinity] }),
  def('Sum', [6], [decompose(['mint.add'], 'chained adds')], (ctx) => broadcastInputs(ctx), { inputs: [1, Infinity] }),
  def('Mean', [6], [decompose(['mint.add', 'mint.div'], 'sum / n')], (ctx) => broadcastInputs(ctx), { inputs: [1, Infinity] }),
  def('Where', [9], [api('mint.where')], (ctx) => {
    broadcastInputs(ctx, ctx.need(1).dtype);
    const [c, a, b] = [ctx.value(0), ctx.value(1), ctx.value(2)];
    if (c && a && b) {
      const n = Math.max(c.elems.length, a.elems.length, b.elems.length);
      const at = (v: KnownValue, i: number) => v.elems[v.elems.length === 1 ? 0 : i] ?? null;
      const out = Array.from({ length: n }, (_, i) => (at(c, i) === null ? null : at(c, i) ? at(a, i) : at(b, i)));
      ctx.setOutput(0, ctx.need(1).dtype, ctx.need(0).shape.length === 0 && n === 1 ? [] : [n], known(out, c.scalar && a.scalar && b.scalar));
    }
  }, { inputs: [3, 3] }),
  def('Clip', [6, 10], [api('mint.clamp')], sameAsInput),
  def('Clip', [11], [api('mint.clamp')], sameAsInput, { inputs: [1, 3] }),
  def('Cast', [6], [api('ops.cast')], (ctx) => {
    const x = ctx.need(0);
    const to = onnxDtype(ctx, ctx.attrInt('to', 0));
    const v = ctx.value(0);
    ctx.setOutput(0, to, x.shape, v && (to.kind === 'int' || to.kind === 'uint') ? v : undefined);
  }),
  def('CastLike', [15], [api('ops.cast')], (ctx) => {
    const x = ctx.need(0);
    const to = ctx.need(1).dtype;
    ctx.setOutput(0, to, x.shape, to && (to.kind === 'int' || to.kind === 'uint') ? ctx.value(0) ?? undefined : undefined);
  }, { inputs: [2, 2] }),
];
