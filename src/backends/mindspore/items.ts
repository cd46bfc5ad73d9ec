/**
 * One construct() statement per item: a layer call, an alias, an If/Loop statement, a host (shape arithmetic)
 * expression or one op's mint call; ops with no mapping become marked fallbacks.
 */
import { MsgraphError } from '../../errors.js';
import type { Node } from '../../ir/node.js';
import type { Value } from '../../ir/value.js';
import { MINT_DOMAIN } from '../../dialect/names.js';
import type { DialectOp } from '../../dialect/op-names.js';
import { ALIAS_OPS, NoMapping, OP_EMITTERS, hostExpr } from './ops.js';
import { emitIf, emitLoop, opContext } from './statements.js';
import { access } from './classes.js';
import { type CodeWriter, type Namer, identifier, pyString } from './python.js';
import { type Item, type Mod, shapeOf, unitIsDirect } from './cells.js';
import type { Emitter } from './emit.js';

export function emitItem(em: Emitter, it: Item, m: Mod, scope: Namer, expr: Map<Value, string>, w: CodeWriter): void {
  if (it.kind === 'layer') {
    const l = it.layer;
    const lm = it.mod;
    const name = scope.take(lm.parent?.cellList ? `${lm.parent.attr || lm.parent.seg}_${lm.seg}` : lm.attr || lm.seg, 'layer');
    w.line(`${name} = ${access(em, m, lm)}(${em.ref(l.input, m, expr, 'tensor')})`);
    expr.set(l.output, name);
    for (const n of l.nodes) em.count(em.onnxOp(n), l.cls);
    return;
  }
  const n = it.node;
  const op = em.onnxOp(n);
  const out = n.outputs[0];
  if (ALIAS_OPS.has(n.op) && out && n.inputs[0]) {
    expr.set(out, expr.get(n.inputs[0]) ?? em.ref(n.inputs[0], m, expr, em.host.has(n.inputs[0]) ? 'host' : 'tensor'));
    if (em.host.has(n.inputs[0])) em.host.add(out);
    for (const o of n.outputs.slice(1)) if (o && o.uses.length) fallback(em, n, op, 'Dropout mask output', scope, expr, w);
    em.count(op, 'alias');
    return;
  }
  if (op === 'If') return emitIf(em, n, m, scope, expr, w);
  if (op === 'Loop') return emitLoop(em, n, m, scope, expr, w);
  const ctx = opContext(em, n, op, m, expr);
  if (out && em.host.has(out)) {
    const known = em.numericKnown(out);
    const e = known ?? hostExpr(n.op as DialectOp, ctx, (i) => !!n.inputs[i] && em.host.has(n.inputs[i]!), (shapeOf(out)?.length ?? 1) === 0);
    if (e !== null) {
      const uses = em.consumers.get(out) ?? [];
      const inline = known !== null || (uses.length === 1 && e.length <= 48 && !out.graph?.outputs.includes(out) && uses.every((u) => unitIsDirect(u, m)));
      if (inline) expr.set(out, e);
      else {
        const sym = em.known.get(out);
        const dimName = sym?.scalar && typeof sym.elems[0] === 'string' && /^[A-Za-z_]\w*$/.test(sym.elems[0]) ? sym.elems[0] : null;
        const name = scope.take(dimRole(e, n, expr) ?? dimName ?? varHint(n, op), 'v');
        w.line(`${name} = ${e}`);
        expr.set(out, name);
      }
      em.count(op, 'host');
      return;
    }
    em.host.delete(out);
  }
  const emitter = OP_EMITTERS[(n.domain === MINT_DOMAIN ? n.op : op) as keyof typeof OP_EMITTERS];
  if (!emitter) return fallback(em, n, op, n.domain && n.domain !== MINT_DOMAIN ? `domain ${n.domain} is not supported` : 'no mapping', scope, expr, w);
  let text: string;
  try {
    text = emitter(ctx);
  } catch (e) {
    if (e instanceof NoMapping) return fallback(em, n, op, e.message, scope, expr, w);
    if (e instanceof MsgraphError && e.code === 'unsupported') return fallback(em, n, op, e.message, scope, expr, w);
    if (e instanceof MsgraphError && e.node === undefined) e.node = n.name || n.op;
    throw e;
  }
  if (n.outputs.length === 1 && out && n.inputs[0] && text === expr.get(n.inputs[0])) {
    expr.set(out, text); // a no-op (Cast to the same type, identity Transpose, ...)
    em.count(op, 'alias');
    return;
  }
  const used = (o: Value | null | undefined) => !!o && (o.uses.length > 0 || !!o.graph?.outputs.includes(o));
  const tupleSize = ctx.tupleSize;
  if (tupleSize === null && n.outputs.slice(1).some(used)) return fallback(em, n, op, 'extra outputs are not supported', scope, expr, w);
  const outs = tupleSize === null ? n.outputs.slice(0, 1) : [...n.outputs, ...new Array(Math.max(0, tupleSize - n.outputs.length)).fill(null)].slice(0, tupleSize);
  const names = outs.map((o, i) => (used(o) ? scope.take(outs.length === 1 ? varHint(n, op) : `${varHint(n, op)}_${i}`, 'v') : '_'));
  if (names.every((x) => x === '_')) return;
  w.line(`${names.join(', ')} = ${text}`);
  outs.forEach((o, i) => o && names[i] !== '_' && expr.set(o, names[i]!));
  em.count(op, ctx.lastApi ?? 'python');
}

/** A readable variable name for the result of `n`. */
function varHint(n: Node, op: string): string {
  const short: Record<string, string> = {
    MatMul: 'matmul', Gemm: 'linear', Softmax: 'softmax', ReduceMean: 'mean', Transpose: 'permute', Unsqueeze: 'unsqueeze', Concat: 'cat',
    Shape: 'shape', Gather: 'gather', 'msgraph.scaled_dot_product_attention': 'attention', 'msgraph.multi_head_attention': 'attention',
    'mint.nn.functional.silu': 'silu', 'mint.nn.functional.gelu': 'gelu', Reshape: 'reshape', ConstantOfShape: 'full', Range: 'arange', Where: 'where',
  };
  return short[op] ?? identifier(op.split('.').pop()!, 'v');
}

/** An op with no mapping: a call of the `unsupported` helper, recorded in the report. */
export function fallback(em: Emitter, n: Node, op: string, reason: string, scope: Namer, expr: Map<Value, string>, w: CodeWriter): void {
  em.helpersUsed.add('unsupported');
  em.fallbacks.push({ node: n.name, op, reason });
  const names = n.outputs.map((o, i) => (o ? scope.take(`${identifier(op, 'op')}${n.outputs.length > 1 ? `_${i}` : ''}`, 'v') : '_'));
  w.line(`${names.join(', ')} = unsupported(${pyString(op)}, ${pyString(n.name)})${n.outputs.length > 1 ? '' : ''}`);
  n.outputs.forEach((o, i) => o && expr.set(o, names[i]!));
  em.count(op, 'fallback');
}

const ROLES: Record<number, string[]> = {
  1: ['length'], 2: ['batch', 'features'], 3: ['batch', 'seq_len', 'hidden'],
  4: ['batch', 'channels', 'height', 'width'], 5: ['batch', 'channels', 'depth', 'height', 'width'],
};

/**
 * The canonical name of a dimension read from a tensor (`x.shape[2]` of a 4-D tensor is `height`), so that every
 * instance of a block names it alike whatever the export called the size there.
 */
function dimRole(e: string, n: Node, expr: Map<Value, string>): string | null {
  const m = /^([A-Za-z_]\w*)\.shape\[(\d+)\]$/.exec(e);
  if (!m) return null;
  // The tensor is the node's input, or the input of the Shape that feeds it.
  const near = n.inputs.flatMap((v) => (v ? [v, ...(v.producer?.inputs ?? [])] : []));
  const v = near.find((x) => x && expr.get(x) === m[1]);
  return v ? ROLES[shapeOf(v)?.length ?? -1]?.[Number(m[2])] ?? null : null;
}
