/**
 * Reference evaluator: runs an IR graph on small tensors with ONNX semantics. Used to check inference, by the
 * conformance runner, and (later) by constant folding.
 */
import type { Attribute } from '../ir/attribute.js';
import type { Graph } from '../ir/graph.js';
import type { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import type { Tensor } from '../ir/tensor.js';
import type { Value } from '../ir/value.js';
import { dt, EvalError, fromTensor, make, num, toTensor, type NDArray } from '../ir/array.js';
import type { Attrs, EvalCtx, Kernel } from './kernel.js';
import { MINT_DOMAIN, onnxOpOf } from '../dialect/names.js';
import { ELEMENTWISE_KERNELS } from './ops-elementwise.js';
import { SHAPE_KERNELS } from './ops-shape.js';
import { GATHER_KERNELS } from './ops-gather.js';
import { NN_KERNELS } from './ops-nn.js';
import { CONV_KERNELS } from './ops-conv.js';
import { REDUCE_KERNELS } from './ops-reduce.js';
import { RESIZE_KERNELS } from './ops-resize.js';
import { RNN_KERNELS } from './ops-rnn.js';
import { SAMPLE_KERNELS } from './ops-sample.js';

export { EvalError } from '../ir/array.js';

const I64 = dt('int64');
const BOOL = dt('bool');

const KERNELS: Record<string, Kernel> = {
  ...ELEMENTWISE_KERNELS, ...SHAPE_KERNELS, ...GATHER_KERNELS, ...NN_KERNELS, ...CONV_KERNELS, ...REDUCE_KERNELS, ...RESIZE_KERNELS, ...RNN_KERNELS, ...SAMPLE_KERNELS,
};

/** Ops the evaluator can run (default domain), besides If and Loop. */
export function hasKernel(domain: string, op: string, opset = 17): boolean {
  if (domain === MINT_DOMAIN) {
    const onnx = onnxOpOf(op, opset);
    return onnx !== undefined && hasKernel('', onnx);
  }
  return (domain === '' || domain === 'ai.onnx') && (op in KERNELS || op === 'If' || op === 'Loop');
}

function attrs(n: Node): Attrs {
  const get = (name: string): Attribute | undefined => n.attrs.get(name);
  return {
    i: (name, dflt) => {
      const a = get(name);
      return a?.type === 'int' ? Number(a.value) : dflt;
    },
    iOpt: (name) => {
      const a = get(name);
      return a?.type === 'int' ? Number(a.value) : undefined;
    },
    ints: (name) => {
      const a = get(name);
      return a?.type === 'ints' ? a.value.map(Number) : undefined;
    },
    f: (name, dflt) => {
      const a = get(name);
      return a?.type === 'float' ? a.value : a?.type === 'int' ? Number(a.value) : dflt;
    },
    floats: (name) => {
      const a = get(name);
      return a?.type === 'floats' ? a.value : undefined;
    },
    s: (name, dflt) => {
      const a = get(name);
      return a?.type === 'string' ? a.value : dflt;
    },
    strs: (name) => {
      const a = get(name);
      return a?.type === 'strings' ? a.value : undefined;
    },
    t: (name) => {
      const a = get(name);
      return a?.type === 'tensor' ? fromTensor(a.value) : undefined;
    },
    g: (name) => {
      const a = get(name);
      return a?.type === 'graph' ? a.value : undefined;
    },
    has: (name) => n.attrs.has(name),
  };
}

class Scope {
  readonly env = new Map<Value, NDArray>();
  constructor(readonly parent: Scope | null) {}
  get(v: Value): NDArray | undefined {
    return this.env.get(v) ?? this.parent?.get(v);
  }
}

export class Evaluator {
  constructor(readonly model: Model) {}

  private opset(domain: string): number {
    return this.model.opset(domain) ?? 1;
  }

  /** Runs the main graph; inputs by name. */
  run(inputs: Map<string, Tensor>): Map<string, Tensor> {
    const g = this.model.graph;
    const args = g.inputs.map((v) => {
      const t = inputs.get(v.name);
      if (t) return fromTensor(t);
      if (v.const) return fromTensor(v.const);
      throw new EvalError(`input ${v.name} was not given`);
    });
    const outs = this.graph(g, args, null);
    return new Map(g.outputs.map((v, i) => [v.name, toTensor(outs[i]!, v.name)]));
  }

  graph(g: Graph, args: (NDArray | null)[], parent: Scope | null): NDArray[] {
    const scope = new Scope(parent);
    g.inputs.forEach((v, i) => {
      const a = args[i];
      if (a) scope.env.set(v, a);
    });
    for (const v of g.initializers) if (!scope.env.has(v)) scope.env.set(v, fromTensor(v.const!));
    for (const n of g) {
      const ins = n.inputs.map((v) => {
        if (!v) return null;
        const a = scope.get(v);
        if (!a) throw new EvalError(`value ${v.name} has no value when ${n.name || n.op} runs`);
        return a;
      });
      const outs = this.node(n, ins, scope);
      n.outputs.forEach((v, i) => {
        if (v && outs[i]) scope.env.set(v, outs[i]!);
      });
    }
    return g.outputs.map((v) => {
      const a = scope.get(v);
      if (!a) throw new EvalError(`graph output ${v.name} was not computed`);
      return a;
    });
  }

  node(n: Node, ins: (NDArray | null)[], scope: Scope | null): (NDArray | null)[] {
    const dialect = n.domain === MINT_DOMAIN;
    if (!dialect && n.domain !== '' && n.domain !== 'ai.onnx') throw new EvalError(`no kernel for ${n.domain}::${n.op}`);
    const op = dialect ? onnxOpOf(n.op, this.opset('')) : n.op;
    if (!op) throw new EvalError(`no kernel for ${n.op}`);
    const a = attrs(n);
    const ctx: EvalCtx = {
      opset: this.opset(''),
      dialect,
      outputs: n.outputs.length,
      run: (g, args) => this.graph(g, args, scope),
    };
    if (op === 'If') {
      const taken = num(ins[0]!)[0] ? a.g('then_branch')! : a.g('else_branch')!;
      return ctx.run(taken, []);
    }
    if (op === 'Loop') return this.loop(n, ins, a, ctx);
    const k = KERNELS[op];
    if (!k) throw new EvalError(`no kernel for ${op}`);
    return k(ins, a, ctx);
  }

  private loop(n: Node, ins: (NDArray | null)[], a: Attrs, ctx: EvalCtx): NDArray[] {
    const body = a.g('body')!;
    const max = ins[0] ? num(ins[0])[0]! : Infinity;
    let cond = ins[1] ? num(ins[1])[0]! !== 0 : true;
    let carried = ins.slice(2) as NDArray[];
    const nScan = body.outputs.length - 1 - carried.length;
    const scans: NDArray[][] = Array.from({ length: nScan }, () => []);
    for (let i = 0; i < max && cond; i++) {
      const outs = ctx.run(body, [make(I64, [], Float64Array.of(i)), make(BOOL, [], Float64Array.of(1)), ...carried]);
      cond = num(outs[0]!)[0]! !== 0;
      carried = outs.slice(1, 1 + carried.length);
      outs.slice(1 + carried.length).forEach((s, k) => scans[k]!.push(s));
      if (i > 1e6) throw new EvalError('Loop ran more than a million iterations');
    }
    const stacked = scans.map((list, k) => {
      if (list.length === 0) {
        const t = body.outputs[1 + carried.length + k]!.type;
        const dtype = t?.kind === 'tensor' && t.dtype ? t.dtype : null;
        if (!dtype) throw new EvalError('empty Loop scan output of unknown type');
        return make(dtype, [0]);
      }
      const first = list[0]!;
      const data = new Float64Array(list.length * first.data.length);
      list.forEach((s, i) => data.set(num(s), i * first.data.length));
      return make(first.dtype, [list.length, ...first.shape], data);
    });
    return [...carried, ...stacked];
  }
}


/** Evaluates a model on named inputs and returns its outputs by name. */
export function evaluateModel(model: Model, inputs: Map<string, Tensor>): Map<string, Tensor> {
  return new Evaluator(model).run(inputs);
}
