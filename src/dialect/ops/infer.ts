/**
 * Shape and dtype inference over the IR, driven by the op tables. Dims stay symbolic (`batch`, `seq*4`); small
 * integer tensors carry known values so that shape arithmetic resolves. Ops outside the tables are reported, never
 * passed off as inferred; an input that contradicts its op is an error naming the node, op and shapes.
 */
import { MsgraphError } from '../../errors.js';
import type { Graph } from '../../ir/graph.js';
import type { Model } from '../../ir/model.js';
import type { Node } from '../../ir/node.js';
import { formatType, type Dim, type Shape, type ValueType } from '../../ir/shape.js';
import type { Tensor } from '../../ir/tensor.js';
import type { Value } from '../../ir/value.js';
import type { DType } from '../../ir/dtype.js';
import { lookupOp, opRanges } from './registry.js';
import { MINT_DOMAIN, onnxOpOf } from '../names.js';
import type { InferCtx, KnownValue, OpDef, TensorInfo } from './types.js';
import { tensorValue } from './defs/misc.js';

export interface UnsupportedOp {
  /** not-in-tables: no definition for this op/opset; not-inferable: defined, but needs values known only at run time. */
  kind: 'not-in-tables' | 'not-inferable';
  node: string;
  op: string;
  domain: string;
  opset: number;
  reason: string;
}

export interface InferReport {
  unsupported: UnsupportedOp[];
  /** Values whose dtype or shape (or a dim) is still unknown. */
  unknown: Value[];
  /** Values that got a type. */
  typed: number;
  /** Element values known at compile time (shape arithmetic). */
  known: Map<Value, KnownValue>;
  /** Subgraphs that never run (If branches whose condition is known at compile time); not inferred. */
  dead: Set<Graph>;
}

/** Ops whose leading inputs may be left empty though they count toward the minimum (Loop's trip count and condition). */
const EMPTY_LEADING_INPUTS = new Set(['Loop']);

/**
 * Checks a node's input and output counts against its definition: too few or too many, or a required input left
 * empty, is an error naming the node. Run before conversion to the dialect, where constant operands leave the input
 * list and counts no longer say anything.
 */
export function checkArity(n: Node, d: OpDef, opset: number): void {
  const [imin, imax] = d.inputs;
  const [omin, omax] = d.outputs;
  const range = (lo: number, hi: number) => (lo === hi ? `${lo}` : hi === Infinity ? `at least ${lo}` : `${lo} to ${hi}`);
  const fail = (msg: string) => {
    throw new MsgraphError('model', `${n.qualifiedOp} (opset ${opset}): ${msg}`, { node: n.name || n.op });
  };
  const nin = n.inputs.length;
  if (nin < imin || nin > imax) fail(`takes ${range(imin, imax)} inputs, got ${nin}`);
  if (!EMPTY_LEADING_INPUTS.has(n.op)) {
    const empty = n.inputs.findIndex((v, i) => i < imin && !v);
    if (empty >= 0) fail(`input ${empty} is required but empty`);
  }
  const nout = n.outputs.length;
  if (nout < omin || nout > omax) fail(`has ${range(omin, omax)} outputs, got ${nout}`);
}

/** Raised by ctx.need() when an input's type is unknown; the node is then reported, not failed. */
class UnknownInput extends Error {}

export function inferShapes(model: Model): InferReport {
  const eng = new Engine(model);
  eng.graph(model.graph);
  const unknown: Value[] = [];
  const visit = (g: Graph) => {
    for (const v of [...g.inputs, ...g.initializers]) if (!isKnown(v.type)) unknown.push(v);
    for (const n of g) {
      for (const o of n.outputs) if (o && !isKnown(o.type)) unknown.push(o);
      for (const sg of n.subgraphs()) if (!eng.dead.has(sg)) visit(sg);
    }
  };
  visit(model.graph);
  return { unsupported: eng.unsupported, unknown, typed: eng.typed, known: eng.values, dead: eng.dead };
}

export function isKnown(t: ValueType | null): boolean {
  if (!t) return false;
  switch (t.kind) {
    case 'tensor':
    case 'sparse_tensor':
      return t.dtype !== null && t.shape !== null && t.shape.every((d) => d !== null);
    case 'sequence':
    case 'optional':
      return t.elem === null || isKnown(t.elem) || (t.elem.kind === 'tensor' && t.elem.dtype !== null);
    case 'map':
      return true;
  }
}

class Engine {
  readonly values = new Map<Value, KnownValue>();
  readonly constants = new Map<Value, Tensor>();
  readonly unsupported: UnsupportedOp[] = [];
  readonly dead = new Set<Graph>();
  typed = 0;
  private counter = 0;

  constructor(readonly model: Model) {}

  fresh(hint: string): string {
    return `${hint}_${this.counter++}`;
  }

  opset(domain: string): number {
    // Files from before opset imports (IR < 3) are opset 1.
    return this.model.opset(domain) ?? 1;
  }

  graph(g: Graph): void {
    for (const v of g.initializers) {
      const t = v.const!;
      v.type = { kind: 'tensor', dtype: t.dtype, shape: [...t.dims] };
      const kv = tensorValue(t);
      if (kv) this.values.set(v, kv);
    }
    for (const n of g) this.node(n);
  }

  private node(n: Node): void {
    // Dialect nodes are inferred by the definition of the ONNX op they stand for (the tables read operands
    // from attributes when present, so the normalised form needs nothing else).
    const dialect = n.domain === MINT_DOMAIN;
    const opset = this.opset(dialect ? '' : n.domain);
    const d = dialect ? lookupDialect(n.op, opset) : lookupOp(n.domain, n.op, opset);
    if (!d) {
      const ranges = opRanges(n.domain, n.op);
      const reason = ranges.length ? `opset ${opset} is outside the tables' ranges (${ranges.map((r) => `${r.since}-${r.until}`).join(', ')})` : 'op is not in the tables';
      this.unsupported.push({ kind: 'not-in-tables', node: n.name, op: n.op, domain: n.domain, opset, reason });
      return;
    }
    // Dialect nodes hold constant operands as attributes; they were checked before conversion (toMint).
    if (!dialect) checkArity(n, d, opset);
    else if (n.outputs.length < d.outputs[0] || n.outputs.length > d.outputs[1]) this.fail(n, opset, `has ${n.outputs.length} outputs`);
    try {
      d.infer(this.ctx(n, opset, dialect));
    } catch (e) {
      if (e instanceof UnknownInput) {
        this.unsupported.push({ kind: 'not-inferable', node: n.name, op: n.op, domain: n.domain, opset, reason: e.message });
        return;
      }
      throw e;
    }
  }

  fail(n: Node, opset: number, msg: string): never {
    const shapes = n.inputs.map((v) => (v ? formatType(v.type) : '_')).join(', ');
    throw new MsgraphError('model', `${n.qualifiedOp} (opset ${opset}): ${msg}; inputs (${shapes})`, { node: n.name || n.op });
  }

  private ctx(n: Node, opset: number, dialect: boolean): InferCtx {
    const eng: Engine = this;
    const tensorInfo = (i: number): TensorInfo | null => {
      const v = n.inputs[i];
      if (!v) return null;
      const t = v.type;
      if (t && (t.kind === 'tensor' || t.kind === 'sparse_tensor')) return { dtype: t.dtype, shape: t.shape };
      return { dtype: null, shape: null };
    };
    const attr = (name: string) => n.attrs.get(name);
    const ctx: InferCtx = {
      node: n,
      opset,
      dialect,
      inputCount: n.inputs.length,
      input: tensorInfo,
      need(i) {
        const t = tensorInfo(i);
        if (!t) eng.fail(n, opset, `input ${i} is required`);
        if (t.shape === null) throw new UnknownInput(`input ${i} (${n.inputs[i]!.name || '?'}) has an unknown shape`);
        return { dtype: t.dtype, shape: t.shape };
      },
      inputType: (i) => n.inputs[i]?.type ?? null,
      value(i) {
        const v = n.inputs[i];
        if (!v) return null;
        const known = eng.values.get(v);
        if (known) return known;
        const t = v.const ?? eng.constants.get(v);
        return t ? tensorValue(t) ?? null : null;
      },
      constant(i) {
        const v = n.inputs[i];
        return v ? v.const ?? eng.constants.get(v) ?? null : null;
      },
      attrInt(name: string, dflt?: number) {
        const a = attr(name);
        if (!a) return dflt as number;
        if (a.type !== 'int') eng.fail(n, opset, `attribute ${name} must be an int`);
        return Number(a.value);
      },
      attrInts(name) {
        const a = attr(name);
        if (!a) return undefined;
        if (a.type !== 'ints') eng.fail(n, opset, `attribute ${name} must be ints`);
        return a.value.map(Number);
      },
      attrFloat(name, dflt) {
        const a = attr(name);
        return a && a.type === 'float' ? a.value : dflt;
      },
      attrString(name, dflt) {
        const a = attr(name);
        return a && a.type === 'string' ? a.value : dflt;
      },
      hasAttr: (name) => n.attrs.has(name),
      attrTensor(name) {
        const a = attr(name);
        return a && a.type === 'tensor' ? a.value : undefined;
      },
      setOutput(i, dtype: DType | null, shape: Shape | null, value?: KnownValue) {
        ctx.setOutputType(i, { kind: 'tensor', dtype, shape });
        const o = n.outputs[i];
        if (o && value) eng.values.set(o, value);
      },
      setOutputType(i, t) {
        const o = n.outputs[i];
        if (!o) return;
        o.type = mergeWithFile(t, o.type, (m) => eng.fail(n, opset, m));
        if ((n.op === 'Constant' || n.op === 'msgraph.constant') && i === 0) {
          const ct = attr('value');
          if (ct?.type === 'tensor') eng.constants.set(o, ct.value);
        }
        eng.typed++;
      },
      fresh: (hint) => eng.fresh(hint),
      subgraph(g, inputs) {
        g.inputs.forEach((v, k) => (v.type = mergeWithFile(inputs[k] ?? null, v.type, (m) => eng.fail(n, opset, m))));
        eng.graph(g);
        return g.outputs.map((v) => v.type);
      },
      fail: (m) => eng.fail(n, opset, m),
      unknown(m) {
        throw new UnknownInput(m);
      },
      dead(g) {
        eng.dead.add(g);
      },
    };
    return ctx;
  }
}

function lookupDialect(name: string, opset: number): OpDef | undefined {
  const op = onnxOpOf(name, opset);
  return op ? lookupOp('', op, opset) : undefined;
}

/**
 * Our inference against a type the file declared (value_info): static dims must agree; a static dim beats a
 * symbolic one; otherwise ours wins (the exporter's names for unknown dims carry no information).
 */
function mergeWithFile(ours: ValueType | null, file: ValueType | null, fail: (m: string) => never): ValueType | null {
  if (!ours) return file;
  if (!file || file.kind !== ours.kind || ours.kind !== 'tensor' || file.kind !== 'tensor') return ours;
  const dtype = ours.dtype ?? file.dtype;
  if (ours.dtype && file.dtype && ours.dtype !== file.dtype) fail(`inferred ${ours.dtype.name} but the file declares ${file.dtype.name}`);
  if (!ours.shape || !file.shape) return { kind: 'tensor', dtype, shape: ours.shape ?? file.shape };
  if (ours.shape.length !== file.shape.length) fail(`inferred rank ${ours.shape.length} but the file declares [${file.shape.join(',')}]`);
  const shape: Dim[] = ours.shape.map((d, i) => {
    const f = file.shape![i]!;
    if (typeof d === 'number' && typeof f === 'number' && d !== f) fail(`inferred [${ours.shape!.join(',')}] but the file declares [${file.shape!.join(',')}]`);
    if (typeof f === 'number') return f;
    return d ?? f;
  });
  return { kind: 'tensor', dtype, shape };
}
