/**
 * ONNX -> mint dialect. Nodes of the default domain that the op tables know become `mint` nodes named after their
 * MindSpore API, with normalised attributes: constant operands as attributes whatever the opset form, run-time
 * operands at their newest-form position, and opset-dependent semantics spelled out (`coerce_2d` for Softmax before
 * opset 13, `affine_per_group` for GroupNormalization before 21, explicit legacy Resize modes). Value identities,
 * names and metadata are kept; ops outside the tables stay as they are and are reported by inference.
 */
import { MsgraphError } from '../errors.js';
import type { Graph } from '../ir/graph.js';
import type { Model } from '../ir/model.js';
import { Node } from '../ir/node.js';
import { Tensor } from '../ir/tensor.js';
import type { Value } from '../ir/value.js';
import { fromTensor, num } from '../ir/array.js';
import { lookupOp } from './ops/registry.js';
import { checkArity, inferShapes } from './ops/infer.js';
import { dialectName, MINT_DOMAIN } from './names.js';
import { LEGACY_BROADCAST, OPERANDS, operandIndex, type Operand } from './operands.js';

export interface ToMintStats {
  converted: number;
  /** Nodes left in their ONNX form (outside the tables), by op. */
  kept: Map<string, number>;
}

export function toMint(model: Model): ToMintStats {
  const opset = model.onnxOpset;
  const stats: ToMintStats = { converted: 0, kept: new Map() };
  const constants = new Map<Value, Tensor>();
  // Legacy broadcasting (opset < 7) needs the first operand's rank: inference runs on the ONNX form first when
  // such a node exists.
  if (opset < 7 && hasLegacyAxis(model.graph)) {
    try {
      inferShapes(model);
    } catch {
      // The node that fails is reported when inference runs for real.
    }
  }
  const rankOf = (v: Value | null): number | null => (v?.type?.kind === 'tensor' && v.type.shape ? v.type.shape.length : null);
  const visit = (g: Graph) => {
    for (const n of g) {
      if (n.op === 'Constant' && n.domain === '' && n.outputs[0]) {
        const t = n.attrs.get('value');
        if (t?.type === 'tensor') constants.set(n.outputs[0], t.value);
      }
      for (const sg of n.subgraphs()) visit(sg);
      const d = n.domain === '' ? lookupOp('', n.op, opset) : undefined;
      if (!d) {
        if (n.domain !== MINT_DOMAIN) stats.kept.set(n.qualifiedOp, (stats.kept.get(n.qualifiedOp) ?? 0) + 1);
        continue;
      }
      checkArity(n, d, opset);
      if (opset < 7 && LEGACY_BROADCAST.has(n.op)) legacyBroadcast(g, n, opset, rankOf);
      convert(n, opset, (v) => v.const ?? constants.get(v) ?? null);
      stats.converted++;
    }
  };
  visit(model.graph);
  model.opsets.set(MINT_DOMAIN, 1);
  return stats;
}

/** Whether a binary op of the graph (or a subgraph) lines B up at an explicit legacy `axis`. */
function hasLegacyAxis(g: Graph): boolean {
  for (const n of g) {
    if (LEGACY_BROADCAST.has(n.op) && n.domain === '' && n.attrs.has('axis')) return true;
    if (n.subgraphs().some(hasLegacyAxis)) return true;
  }
  return false;
}

/** Constants already reshaped for legacy broadcasting, by source and number of trailing unit dims. */
const aligned = new WeakMap<Value, Map<number, Value>>();

/**
 * Rewrites an opset < 7 `broadcast=1, axis=k` operand into numpy form: B gets trailing unit dims so that it lines up
 * with A from axis k (a constant is reshaped in place of its value, a run-time value gets an unsqueeze). Without
 * `axis`, legacy broadcasting is suffix alignment, which numpy broadcasting already is.
 */
function legacyBroadcast(g: Graph, n: Node, opset: number, rankOf: (v: Value | null) => number | null): void {
  const broadcast = Number(n.attrs.get('broadcast')?.value ?? 0) === 1;
  const axisAttr = n.attrs.get('axis');
  n.attrs.delete('broadcast');
  n.attrs.delete('axis');
  n.attrs.delete('consumed_inputs');
  if (!broadcast || !axisAttr) return;
  const b = n.inputs[1];
  const ra = rankOf(n.inputs[0] ?? null);
  const rb = rankOf(b ?? null);
  if (!b || ra === null || rb === null) {
    throw new MsgraphError('unsupported', `${n.op} (opset ${opset}) broadcasts at axis ${axisAttr.value}, but the rank of its operands is unknown`, { node: n.name || n.op });
  }
  const given = axisAttr.type === 'int' ? Number(axisAttr.value) : NaN;
  const axis = given < 0 ? given + ra : given;
  const trailing = ra - axis - rb;
  if (!Number.isInteger(axis) || axis < 0 || trailing < 0) throw new MsgraphError('model', `${n.op} (opset ${opset}): B of rank ${rb} cannot be aligned at axis ${axisAttr.value} of rank ${ra}`, { node: n.name || n.op });
  if (trailing === 0) return;
  const t = b.const;
  if (t) {
    const cache = aligned.get(b) ?? new Map<number, Value>();
    aligned.set(b, cache);
    let c = cache.get(trailing);
    if (!c) {
      c = g.addConstant(`${b.name}_at_axis${axis}`, Tensor.fromBytes(t.dtype, [...t.dims, ...Array<number>(trailing).fill(1)], t.bytes, b.name));
      cache.set(trailing, c);
    }
    n.replaceInput(1, c);
    return;
  }
  const u = new Node({
    op: 'mint.unsqueeze', domain: MINT_DOMAIN, name: `${n.name || n.op}_align_b`, inputs: [b], outputs: 1,
    attrs: [['axes', { type: 'ints', value: Array.from({ length: trailing }, (_, i) => rb + i) }]],
  });
  u.outputs[0]!.name = `${b.name}_at_axis${axis}`;
  g.insertBefore(n, u);
  n.replaceInput(1, u.outputs[0]!);
}

/** Spatial rank of a convolution or pooling node (selects conv1d/2d/3d and the like). */
export function spatialRank(n: Node): number | null {
  const w = n.inputs[1]?.type;
  if ((n.op === 'Conv' || n.op === 'ConvTranspose') && w?.kind === 'tensor' && w.shape) return w.shape.length - 2;
  const k = n.attrs.get('kernel_shape');
  if (k?.type === 'ints') return k.value.length;
  const x = n.inputs[0]?.type;
  return x?.kind === 'tensor' && x.shape ? x.shape.length - 2 : null;
}

function convert(n: Node, opset: number, constantOf: (v: Value) => Tensor | null): void {
  const onnxOp = n.op;
  const name = dialectName(n, spatialRank(n));
  if (!name) return;
  for (const o of OPERANDS[onnxOp] ?? []) normaliseOperand(n, o, opset, constantOf);
  semantics(n, onnxOp, opset);
  n.domain = MINT_DOMAIN;
  // A CastLike whose target type is known is a plain cast.
  n.op = onnxOp === 'CastLike' && n.attrs.has('to') ? 'ops.cast' : name;
  n.trimInputs();
}

function normaliseOperand(n: Node, o: Operand, opset: number, constantOf: (v: Value) => Tensor | null): void {
  if (opset < o.inputFrom) return;
  const slot = operandIndex(o, opset);
  const v = n.inputs[slot];
  if (!v) return;
  const t = constantOf(v);
  // An int32 index constant next to index inputs known only at run time keeps its place: written back as int64,
  // it would clash with them (they share one type parameter).
  const mixed = t && o.dtype === 'int64' && t.dtype.name === 'int32' && (OPERANDS[n.op] ?? []).some((p) => p !== o && p.dtype === 'int64' && opset >= p.inputFrom && n.inputs[operandIndex(p, opset)] && !constantOf(n.inputs[operandIndex(p, opset)]!));
  if (t && !mixed) {
    const vals = Array.from(num(fromTensor(t)));
    n.setAttr(o.attr, o.kind === 'ints' ? { type: 'ints', value: vals } : o.kind === 'floats' ? { type: 'floats', value: vals } : o.kind === 'int' ? { type: 'int', value: vals[0] ?? 0 } : { type: 'float', value: vals[0] ?? 0 });
    n.replaceInput(slot, null);
  } else if (slot !== o.index) {
    n.replaceInput(slot, null);
    while (n.inputs.length <= o.index) n.appendInput(null);
    n.replaceInput(o.index, v);
  }
}

function semantics(n: Node, op: string, opset: number): void {
  const setIfAbsent = (k: string, a: Parameters<Node['setAttr']>[1]) => {
    if (!n.attrs.has(k)) n.setAttr(k, a);
  };
  switch (op) {
    case 'Softmax':
    case 'LogSoftmax':
    case 'Hardmax':
      setIfAbsent('axis', { type: 'int', value: opset < 13 ? 1 : -1 });
      if (opset < 13) n.setAttr('coerce_2d', { type: 'int', value: 1 });
      break;
    case 'GroupNormalization':
      if (opset < 21) n.setAttr('affine_per_group', { type: 'int', value: 1 });
      break;
    case 'Upsample':
    case 'Resize':
      if (op === 'Upsample' || opset < 11) {
        setIfAbsent('mode', { type: 'string', value: 'nearest' });
        n.setAttr('coordinate_transformation_mode', { type: 'string', value: 'asymmetric' });
        n.setAttr('nearest_mode', { type: 'string', value: 'floor' });
      }
      break;
    case 'CastLike': {
      const like = n.inputs[1]?.type;
      const dtype = like?.kind === 'tensor' ? like.dtype : null;
      if (dtype) {
        n.setAttr('to', { type: 'int', value: dtype.onnx });
        n.replaceInput(1, null);
      }
      break;
    }
    case 'Conv':
    case 'ConvTranspose':
      setIfAbsent('group', { type: 'int', value: 1 });
      break;
    case 'Gemm':
      for (const [k, d] of [['alpha', 1], ['beta', 1]] as const) setIfAbsent(k, { type: 'float', value: d });
      for (const k of ['transA', 'transB']) setIfAbsent(k, { type: 'int', value: 0 });
      break;
  }
}
