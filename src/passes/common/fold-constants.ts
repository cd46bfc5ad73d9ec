/**
 * Constant folding with the reference evaluator, and shape-arithmetic folding: a node whose inputs are all constant
 * is evaluated, and a value whose elements shape inference knows as plain numbers (Shape -> Gather -> Concat chains
 * over static dims, after `--shape` specialisation too) becomes a constant. Results are capped in size so folding
 * never bloats the file: at most `foldLimit` elements (default 1024), or the size of the inputs when that is larger.
 * The decision is made from the inferred output shapes and an estimate of the work before anything is evaluated, so
 * a few bytes of model (ConstantOfShape, Range, Tile, a large MatMul of constants) can neither exhaust memory nor
 * stall the compile.
 */
import type { Graph } from '../../ir/graph.js';
import type { Node } from '../../ir/node.js';
import type { Tensor } from '../../ir/tensor.js';
import { Value } from '../../ir/value.js';
import { Evaluator, hasKernel } from '../../eval/evaluator.js';
import { fromTensor, toTensor, type NDArray } from '../../ir/array.js';
import { inferShapes } from '../../dialect/ops/infer.js';
import { tensorFromValues } from '../../ir/bundle.js';
import type { Model } from '../../ir/model.js';
import type { Pass, PassContext, PassResult } from '../pass.js';
import { result } from '../pass.js';

const EXACT = 2 ** 53;
/** Ops whose results differ run to run or that only make sense at run time. */
const NEVER = new Set(['RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike', 'Multinomial', 'Bernoulli', 'mint.randn_like', 'mint.rand_like', 'msgraph.constant']);

/** Work one folded node may cost, in multiply-adds (about a tenth of a second in the evaluator). */
export const FOLD_WORK_LIMIT = 1 << 23;

/** Static element count of a value's inferred type, or null when unknown. */
function numel(v: Value | null): number | null {
  const t = v?.type;
  if (!t || t.kind !== 'tensor' || !t.shape) return null;
  let n = 1;
  for (const d of t.shape) {
    if (typeof d !== 'number') return null;
    n *= d;
  }
  return n;
}

/** Multiply-adds per output element of the ops whose cost is not linear in their size. */
function workPerOutput(n: Node, ins: (Tensor | null)[]): number {
  const a = ins[0];
  const b = ins[1];
  if (/matmul|gemm|linear|addmm/i.test(n.op)) return Math.max(1, a?.dims[a.dims.length - 1] ?? 1, b?.dims[0] ?? 1);
  // Convolutions and einsum: at most every weight element per output element (an overestimate, never an under-).
  if (/conv|einsum/i.test(n.op)) return Math.max(1, b?.size ?? 1);
  return 1;
}

/**
 * Whether folding `n` stays within size and work limits, decided from inferred shapes only. Unknown output shapes
 * are not folded: nothing may be evaluated whose size is not known first.
 */
function worthFolding(n: Node, ins: (Tensor | null)[], limit: number): boolean {
  const inSize = ins.reduce((s, t) => s + (t?.size ?? 0), 0);
  let out = 0;
  for (const o of n.outputs) {
    if (!o) continue;
    const k = numel(o);
    if (k === null || k > Math.max(limit, inSize)) return false;
    out += k;
  }
  return out * workPerOutput(n, ins) + inSize <= FOLD_WORK_LIMIT;
}

function constTensor(v: Value | null, consts: Map<Value, Tensor>): Tensor | null {
  return v ? v.const ?? consts.get(v) ?? null : null;
}

function replaceWithConstant(g: Graph, v: Value, t: Tensor): void {
  const c = new Value(v.name, v.type);
  g.addInitializer(c, t);
  g.replaceAllUsesWith(v, c);
}

export const foldConstants: Pass = {
  name: 'fold-constants',
  description: 'evaluate nodes whose inputs are all constants, and turn statically known shape arithmetic into constants',
  run: (model, ctx) => fold(model, ctx, false),
};

/**
 * The MindSpore port's folding: only literals (integer constants, scalars), never a node that reads a float tensor
 * (a parameter stays a parameter, under its state_dict name) and never shape arithmetic (sizes stay symbolic).
 */
export const foldLiterals: Pass = {
  name: 'fold-literals',
  description: 'evaluate nodes whose inputs are integer constants or scalars; parameters and shape arithmetic stay',
  run: (model, ctx) => fold(model, ctx, true),
};

function fold(model: Model, ctx: PassContext, literalsOnly: boolean): PassResult {
  const g = model.graph;
  const limit = ctx.foldLimit ?? 1024;
  const known = (ctx.inference?.get() ?? inferShapes(model)).known;
  const ev = new Evaluator(model);
  const consts = new Map<Value, Tensor>();
  const stats = { evaluated: 0, shapes: 0 };
  for (const n of [...g]) {
    if (n.op === 'Constant' || n.op === 'msgraph.constant') {
      const a = n.attrs.get('value');
      if (a?.type === 'tensor' && n.outputs[0]) consts.set(n.outputs[0], a.value);
      continue;
    }
    if (NEVER.has(n.op) || n.subgraphs().length > 0 || n.outputs.some((o) => o && g.outputs.includes(o))) continue;
    const out = n.outputs[0];
    // Shape arithmetic known from inference.
    if (n.outputs.length === 1 && out && !literalsOnly) {
      const k = known.get(out);
      const dtype = out.type?.kind === 'tensor' ? out.type.dtype : null;
      if (k && dtype && /int/.test(dtype.name) && k.elems.every((d) => typeof d === 'number' && Math.abs(d) < EXACT) && !n.inputs.every((v) => !v || constTensor(v, consts))) {
        const dims = k.scalar ? [] : [k.elems.length];
        const t = tensorFromValues(dtype, dims, (k.elems as number[]).map((x) => (dtype.name === 'int64' ? BigInt(x) : x)) as number[] | bigint[], out.name);
        replaceWithConstant(g, out, t);
        consts.set(out, t);
        g.remove(n);
        stats.shapes++;
        continue;
      }
    }
    if (!n.inputs.every((v) => !v || constTensor(v, consts))) continue;
    // A float tensor input is a parameter (or computed from one): it stays.
    if (literalsOnly && n.inputs.map((v) => v && constTensor(v, consts)).some((t) => t && t.dtype.kind === 'float' && t.size > 1)) continue;
    if (!n.inputs.some((v) => v)) continue;
    if (!hasKernel(n.domain, n.op, model.onnxOpset)) continue;
    const ins = n.inputs.map((v) => (v ? constTensor(v, consts)! : null));
    if (!worthFolding(n, ins, limit)) continue;
    if (ins.some((t) => t && (t.isString || !fromTensorSafe(t)))) continue;
    let outs: (NDArray | null)[];
    try {
      outs = ev.node(n, ins.map((t) => (t ? fromTensor(t) : null)), null);
    } catch {
      continue; // the evaluator cannot run it: leave it to the runtime
    }
    const inSize = ins.reduce((s, t) => s + (t?.size ?? 0), 0);
    if (outs.some((a) => a && a.data.length > Math.max(limit, inSize))) continue; // inference was wrong about the size
    if (outs.some((a) => a && a.data instanceof Float64Array && /int/.test(a.dtype.name) && a.data.some((x) => Math.abs(x) >= EXACT))) continue;
    n.outputs.forEach((o, i) => {
      const a = outs[i];
      if (!o || !a) return;
      const t = toTensor(a, o.name);
      replaceWithConstant(g, o, t);
      consts.set(o, t);
    });
    if (n.outputs.every((o) => !o || o.uses.length === 0)) g.remove(n);
    stats.evaluated++;
  }
  // Constant nodes left unused by folding.
  let unused = 0;
  for (const n of [...g]) {
    if ((n.op === 'Constant' || n.op === 'msgraph.constant') && n.outputs.every((o) => !o || (o.uses.length === 0 && !g.outputs.includes(o)))) {
      g.remove(n);
      unused++;
    }
  }
  const r = result(stats);
  return unused ? { ...r, modified: true } : r;
}

/** Integer tensors beyond 2^53 cannot go through the float64 evaluator exactly. */
function fromTensorSafe(t: Tensor): boolean {
  if (t.dtype.name !== 'int64' && t.dtype.name !== 'uint64') return true;
  const a = t.toArray() as BigInt64Array;
  for (const x of a) if (x > 9007199254740991n || x < -9007199254740991n) return false;
  return true;
}

