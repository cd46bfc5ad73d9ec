/** Reductions, arg-reductions, cumulative sums and top-k. */
import type { Dim } from '../../../ir/shape.js';
import type { InferCtx, OpDef } from '../types.js';
import { api, axis, decompose, def, i64, intsFrom, staticInts } from '../helpers.js';

/** Axes from the attribute (old form, and the dialect) or the second input (ReduceSum from 13, the others from 18). */
function reduce(ctx: InferCtx): void {
  const x = ctx.need(0);
  const r = x.shape.length;
  const raw = intsFrom(ctx, 1, 'axes');
  const keep = ctx.attrInt('keepdims', 1) === 1;
  let axes = staticInts(ctx, raw, `${ctx.node.op} axes`);
  if (!axes || axes.length === 0) {
    if (ctx.attrInt('noop_with_empty_axes', 0) === 1) {
      ctx.setOutput(0, x.dtype, x.shape);
      return;
    }
    axes = Array.from({ length: r }, (_, i) => i);
  }
  const set = new Set(axes.map((a) => axis(ctx, a, r)));
  const out: Dim[] = [];
  x.shape.forEach((d, i) => {
    if (!set.has(i)) out.push(d);
    else if (keep) out.push(1);
  });
  ctx.setOutput(0, x.dtype, out);
}

function argReduce(ctx: InferCtx): void {
  const x = ctx.need(0);
  const a = axis(ctx, ctx.attrInt('axis', 0), x.shape.length);
  const keep = ctx.attrInt('keepdims', 1) === 1;
  ctx.setOutput(0, i64, keep ? x.shape.map((d, i) => (i === a ? 1 : d)) : x.shape.filter((_, i) => i !== a));
}

function topk(ctx: InferCtx): void {
  const x = ctx.need(0);
  const a = axis(ctx, ctx.attrInt('axis', -1), x.shape.length);
  const k: Dim = ctx.hasAttr('k') ? ctx.attrInt('k', 0) : (ctx.value(1)?.elems[0] ?? ctx.fresh('topk'));
  const out = x.shape.map((d, i) => (i === a ? k : d));
  ctx.setOutput(0, x.dtype, out);
  ctx.setOutput(1, i64, out);
}

const reductions: [string, string | ReturnType<typeof decompose>, number][] = [
  ['ReduceSum', 'mint.sum', 13], ['ReduceMean', 'mint.mean', 18], ['ReduceMax', 'mint.amax', 18], ['ReduceMin', 'mint.amin', 18],
  ['ReduceProd', 'mint.prod', 18], ['ReduceLogSumExp', 'mint.logsumexp', 18],
  ['ReduceL1', decompose(['mint.abs', 'mint.sum'], 'sum(|x|)'), 18],
  ['ReduceL2', decompose(['mint.norm'], 'p=2 norm'), 18],
  ['ReduceLogSum', decompose(['mint.sum', 'mint.log'], 'log(sum(x))'), 18],
  ['ReduceSumSquare', decompose(['mint.square', 'mint.sum'], 'sum(x*x)'), 18],
];

export const REDUCE: OpDef[] = [
  ...reductions.flatMap(([op, m, inputFrom]) => {
    const ref = typeof m === 'string' ? api(m) : m;
    return [
      def(op, [1, inputFrom - 1], [ref], reduce),
      def(op, [inputFrom], [ref], reduce, { inputs: [1, 2] }),
    ];
  }),
  def('ArgMax', [1], [api('mint.argmax')], argReduce),
  def('ArgMin', [1], [api('mint.argmin')], argReduce),
  def('CumSum', [11], [api('mint.cumsum')], (ctx) => {
    const x = ctx.need(0);
    ctx.setOutput(0, x.dtype, x.shape);
  }, { inputs: [2, 2] }),
  def('TopK', [1, 9], [api('mint.topk')], topk, { outputs: [2, 2] }),
  def('TopK', [10], [api('mint.topk')], topk, { inputs: [2, 2], outputs: [2, 2] }),
];
