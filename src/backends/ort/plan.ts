/**
 * The static execution plan written next to a compiled model (`<out>.plan.json`): signature, target EP, the
 * topologically ordered nodes with their types, estimated FLOPs and bytes moved, a liveness-based memory plan
 * (intermediates share buffers once their last reader has run) and the pass statistics.
 */
import type { Model } from '../../ir/model.js';
import type { Node } from '../../ir/node.js';
import type { Dim } from '../../ir/shape.js';
import type { Value } from '../../ir/value.js';
import { byteLength } from '../../ir/dtype.js';
import { evaluate } from '../../ir/symbolic.js';
import type { PassRecord } from '../../passes/manager.js';
import { epSupports } from './capabilities.js';

export interface PlanValue {
  name: string;
  dtype: string | null;
  shape: Dim[] | null;
}

export interface PlanNode {
  index: number;
  name: string;
  op: string;
  domain: string;
  inputs: (PlanValue | null)[];
  outputs: (PlanValue | null)[];
  flops: number | null;
  bytes: number | null;
}

export interface MemoryPlan {
  /** Sizes are computed with these values for symbolic dims. */
  assumed_dims: Record<string, number>;
  intermediates: number;
  /** Sum of all intermediate tensors, as if each had its own buffer. */
  naive_bytes: number;
  /** Size of the buffers after reuse. */
  planned_bytes: number;
  /** Largest sum of simultaneously live intermediates (a lower bound for any plan). */
  peak_live_bytes: number;
  ratio: number;
  buffers: { size: number; values: string[] }[];
  /** Intermediates whose size is unknown (not planned). */
  unsized: string[];
}

export interface Plan {
  format: 'msgraph-plan/1';
  generator: string;
  ep: string;
  opset: number;
  specialized: Record<string, number[]>;
  inputs: PlanValue[];
  outputs: PlanValue[];
  node_count: number;
  total_flops: number;
  nodes: PlanNode[];
  memory: MemoryPlan;
  /** Nodes whose op has no kernel on the target EP according to the capability table. */
  unsupported_on_ep: { node: string; op: string; domain: string }[];
  /** Pass records; wall times (`ms`) only when asked for, so that the plan is the same on every run. */
  passes: (Omit<PassRecord, 'ms'> & { ms?: number })[];
  /** What lowering for the EP did: fused ops mapped to its kernels or expanded, FusedConv, guards. */
  lowering?: Record<string, number>;
  /** A reduced-precision plan: what was quantized, what was kept, and (added by the caller) the measured accuracy. */
  precision?: Record<string, unknown>;
}

function pv(v: Value | null): PlanValue | null {
  if (!v) return null;
  const t = v.type?.kind === 'tensor' ? v.type : null;
  return { name: v.name, dtype: t?.dtype?.name ?? null, shape: t?.shape ?? null };
}

function size(shape: Dim[] | null | undefined, env: Record<string, number>): number | null {
  if (!shape) return null;
  let n = 1;
  for (const d of shape) {
    if (d === null) return null;
    const x = typeof d === 'number' ? d : evaluate(d, env);
    if (x === null || x === undefined || !Number.isFinite(x)) return null;
    n *= x;
  }
  return n;
}

function bytesOf(v: Value | null, env: Record<string, number>): number | null {
  if (!v) return 0;
  const t = v.type?.kind === 'tensor' ? v.type : null;
  const n = size(t?.shape, env);
  return n === null || !t?.dtype ? null : byteLength(t.dtype, n);
}

const ELEMENTWISE = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Relu', 'Sigmoid', 'Tanh', 'Erf', 'Exp', 'Log', 'Sqrt', 'Neg', 'Abs', 'Where', 'Max', 'Min', 'Clip', 'HardSwish', 'HardSigmoid', 'LeakyRelu', 'PRelu', 'Gelu', 'Softplus', 'Cos', 'Sin', 'Reciprocal', 'Equal', 'Less', 'Greater', 'Not', 'And', 'Or', 'Cast']);

/** Rough FLOPs: 2·M·N·K for products, 2·out·Cin/g·k for convolutions, a few per element for the rest. */
function flops(n: Node, env: Record<string, number>): number | null {
  const shape = (v: Value | null | undefined) => (v?.type?.kind === 'tensor' ? v.type.shape : null);
  const out = size(shape(n.outputs[0]), env);
  if (out === null) return null;
  switch (n.op) {
    case 'MatMul':
    case 'FusedMatMul': {
      const a = shape(n.inputs[0]);
      const k = a ? (a.length ? a[a.length - 1] : 1) : null;
      const kk = typeof k === 'number' ? k : k ? evaluate(k, env) : null;
      return kk ? 2 * out * kk : null;
    }
    case 'Gemm':
    case 'FusedGemm': {
      const a = shape(n.inputs[0]);
      const transA = Number(n.attrs.get('transA')?.value ?? 0);
      const k = a?.[transA ? 0 : 1];
      const kk = typeof k === 'number' ? k : k ? evaluate(k, env) : null;
      return kk ? 2 * out * kk : null;
    }
    case 'Conv':
    case 'ConvTranspose':
    case 'FusedConv': {
      const w = shape(n.inputs[1]);
      if (!w || w.some((d) => typeof d !== 'number')) return null;
      const ws = w as number[];
      const perOut = n.op === 'ConvTranspose' ? ws[0]! * ws.slice(2).reduce((a, b) => a * b, 1) / Number(n.attrs.get('group')?.value ?? 1) : ws.slice(1).reduce((a, b) => a * b, 1);
      return 2 * out * perOut;
    }
    case 'LayerNormalization':
    case 'GroupNormalization':
    case 'InstanceNormalization':
    case 'BatchNormalization':
    case 'Softmax':
      return 5 * out;
    default:
      return ELEMENTWISE.has(n.op) ? out : 0;
  }
}

/** Greedy best-fit buffer reuse over value lifetimes in execution order. */
export function planMemory(model: Model, env: Record<string, number>): MemoryPlan {
  const g = model.graph;
  const nodes = g.nodes;
  const index = new Map(nodes.map((n, i) => [n, i]));
  const outputs = new Set(g.outputs);
  const life: { v: Value; start: number; end: number; bytes: number }[] = [];
  const unsized: string[] = [];
  // A node reading only initializers (the Casts of float16-stored weights) is folded by onnxruntime when the
  // session starts: its outputs are weights, not activations.
  const folded = (n: Node) => n.inputs.length > 0 && n.inputs.every((v) => !v || (v.const && !g.inputs.includes(v))) && !n.subgraphs().length;
  nodes.forEach((n, i) => {
    if (folded(n)) return;
    for (const o of n.outputs) {
      if (!o || outputs.has(o)) continue;
      const b = bytesOf(o, env);
      if (b === null) {
        unsized.push(o.name);
        continue;
      }
      let end = i;
      for (const u of o.uses) {
        // A read inside a subgraph counts at the node that owns the subgraph.
        let user: Node | null = u.node;
        while (user && !index.has(user)) user = user.graph?.parent ?? null;
        if (user) end = Math.max(end, index.get(user)!);
      }
      life.push({ v: o, start: i, end, bytes: b });
    }
  });
  const naive = life.reduce((s, l) => s + l.bytes, 0);
  // Peak of simultaneously live bytes.
  const delta = new Array(nodes.length + 1).fill(0);
  for (const l of life) {
    delta[l.start] += l.bytes;
    delta[l.end + 1] -= l.bytes;
  }
  let live = 0;
  let peak = 0;
  for (const d of delta) {
    live += d;
    peak = Math.max(peak, live);
  }
  // Buffers: a value takes the smallest free buffer that fits, else grows the largest free one, else a new buffer.
  const buffers: { size: number; values: string[]; freeAt: number }[] = [];
  const byStart = [...life].sort((a, b) => a.start - b.start || b.bytes - a.bytes);
  for (const l of byStart) {
    const free = buffers.filter((b) => b.freeAt < l.start);
    let pick = free.filter((b) => b.size >= l.bytes).sort((a, b) => a.size - b.size)[0];
    if (!pick && free.length) {
      pick = free.sort((a, b) => b.size - a.size)[0]!;
      pick.size = l.bytes;
    }
    if (!pick) {
      pick = { size: l.bytes, values: [], freeAt: -1 };
      buffers.push(pick);
    }
    pick.values.push(l.v.name);
    pick.freeAt = l.end;
  }
  const planned = buffers.reduce((s, b) => s + b.size, 0);
  return {
    assumed_dims: env,
    intermediates: life.length,
    naive_bytes: naive,
    planned_bytes: planned,
    peak_live_bytes: peak,
    ratio: naive ? planned / naive : 1,
    buffers: buffers.map((b) => ({ size: b.size, values: b.values })),
    unsized,
  };
}

/** Symbolic dims of the model's inputs, each given `value` unless `dims` says otherwise. */
export function symbolicDims(model: Model, value: number, dims: Record<string, number> = {}): Record<string, number> {
  const env: Record<string, number> = {};
  for (const v of model.graph.inputs) {
    const s = v.type?.kind === 'tensor' ? v.type.shape : null;
    for (const d of s ?? []) if (typeof d === 'string' && /^[A-Za-z_][\w]*$/.test(d)) env[d] = dims[d] ?? value;
  }
  return env;
}

export function buildPlan(model: Model, info: { ep: string; generator: string; specialized: Record<string, number[]>; passes: PassRecord[]; lowering?: Record<string, number>; assumeDim?: number; timings?: boolean; precision?: Record<string, unknown> }): Plan {
  const g = model.graph;
  const env = symbolicDims(model, info.assumeDim ?? 1);
  const nodes: PlanNode[] = g.nodes.map((n, i) => {
    const b = [...n.inputs, ...n.outputs].reduce<number | null>((s, v) => {
      const x = bytesOf(v, env);
      return s === null || x === null ? null : s + x;
    }, 0);
    return { index: i, name: n.name, op: n.op, domain: n.domain, inputs: n.inputs.map(pv), outputs: n.outputs.map(pv), flops: flops(n, env), bytes: b };
  });
  return {
    format: 'msgraph-plan/1',
    generator: info.generator,
    ep: info.ep,
    opset: model.opset('') ?? 0,
    specialized: info.specialized,
    inputs: g.inputs.filter((v) => !v.const).map((v) => pv(v)!),
    outputs: g.outputs.map((v) => pv(v)!),
    node_count: nodes.length,
    total_flops: nodes.reduce((s, n) => s + (n.flops ?? 0), 0),
    nodes,
    memory: planMemory(model, env),
    // Constant nodes become initializers when onnxruntime loads the model: no kernel runs them.
    unsupported_on_ep: g.nodes.filter((n) => n.op !== 'Constant' && !epSupports(info.ep, n.domain, n.op)).map((n) => ({ node: n.name, op: n.op, domain: n.domain })),
    passes: info.timings ? info.passes : info.passes.map(({ ms: _ms, ...rest }) => rest),
    ...(info.lowering ? { lowering: info.lowering } : {}),
    ...(info.precision ? { precision: info.precision } : {}),
  };
}
