/**
 * mint dialect -> ONNX at a target opset (by default the model's own): dialect names back to ONNX ops, constant
 * operands back to inputs where the opset wants inputs (as new initializers), run-time operands to that opset's
 * positions, and the dialect's explicit semantics dropped where the opset implies them. What an opset cannot
 * express is an error naming the node, never a silent change.
 */
import { MsgraphError } from '../errors.js';
import { dtypeFromName, type DType } from '../ir/dtype.js';
import type { Graph } from '../ir/graph.js';
import type { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import type { Value } from '../ir/value.js';
import { Tensor } from '../ir/tensor.js';
import { make, toTensor } from '../ir/array.js';
import { MINT_DOMAIN, onnxOpOf } from './names.js';
import { LEGACY_BROADCAST, OPERANDS, operandIndex, type Operand } from './operands.js';

export interface LowerOptions {
  /** Default-domain opset to emit; defaults to the model's. */
  opset?: number;
}

export function lowerToOnnx(model: Model, opts: LowerOptions = {}): void {
  const opset = opts.opset ?? model.onnxOpset;
  const lower = new Lowering(model, opset);
  lower.graph(model.graph);
  model.opsets.delete(MINT_DOMAIN);
  if (model.opsets.has('')) model.opsets.set('', opset);
}

class Lowering {
  private counter = 0;
  private readonly taken = new Set<string>();

  constructor(
    readonly model: Model,
    readonly opset: number,
  ) {
    const collect = (g: Graph) => {
      for (const v of [...g.inputs, ...g.initializers]) this.taken.add(v.name);
      for (const n of g) {
        for (const o of n.outputs) if (o) this.taken.add(o.name);
        for (const sg of n.subgraphs()) collect(sg);
      }
    };
    collect(model.graph);
  }

  graph(g: Graph): void {
    for (const n of g) {
      for (const sg of n.subgraphs()) this.graph(sg);
      if (n.domain === MINT_DOMAIN) this.node(g, n);
    }
  }

  private fail(n: Node, msg: string): never {
    throw new MsgraphError('unsupported', `cannot lower ${n.op} to ONNX opset ${this.opset}: ${msg}`, { node: n.name || n.op });
  }

  private node(g: Graph, n: Node): void {
    const op = onnxOpOf(n.op, this.opset);
    if (!op) this.fail(n, 'not a dialect op');
    for (const o of OPERANDS[op] ?? []) this.operand(g, n, o);
    this.semantics(n, op);
    n.domain = '';
    n.op = op;
    n.trimInputs();
  }

  private operand(g: Graph, n: Node, o: Operand): void {
    const attr = n.attrs.get(o.attr);
    const dynamic = n.inputs[o.index] ?? null;
    if (this.opset < o.inputFrom) {
      if (dynamic) this.fail(n, `${o.attr} is only known at run time, and opset ${this.opset} takes it as an attribute`);
      if (attr && o.newIn && !isDefault(o, attr.value as number[] | number)) this.fail(n, `${o.attr} does not exist before opset ${o.inputFrom}`);
      if (attr && o.newIn) n.attrs.delete(o.attr);
      return;
    }
    const slot = operandIndex(o, this.opset);
    if (attr) {
      n.attrs.delete(o.attr);
      const vals = Array.isArray(attr.value) ? (attr.value as number[]) : [attr.value as number];
      const dtype = o.dtype === 'data' ? dataType(n) : dtypeFromName(o.dtype)!;
      const shape = o.kind === 'ints' || o.kind === 'floats' ? [vals.length] : o.oneElement ? [1] : [];
      const t = toTensor(make(dtype, shape, Float64Array.from(vals)));
      this.place(n, slot, g.addConstant(this.fresh(`${n.name || n.op}_${o.attr}`), t));
    } else if (dynamic && slot !== o.index) {
      n.replaceInput(o.index, null);
      this.place(n, slot, dynamic);
    }
  }

  private place(n: Node, slot: number, v: Value): void {
    while (n.inputs.length <= slot) n.appendInput(null);
    n.replaceInput(slot, v);
  }

  private fresh(base: string): string {
    let name: string;
    do name = `${base}__${this.counter++}`;
    while (this.taken.has(name));
    this.taken.add(name);
    return name;
  }

  private semantics(n: Node, op: string): void {
    const intAttr = (k: string) => Number(n.attrs.get(k)?.value ?? 0);
    switch (op) {
      case 'Softmax':
      case 'LogSoftmax':
      case 'Hardmax':
        if (intAttr('coerce_2d') === 1 && this.opset >= 13) this.fail(n, 'the pre-13 2-D coercion needs a reshape around it');
        if (intAttr('coerce_2d') !== 1 && this.opset < 13) this.fail(n, 'a single-axis softmax needs opset 13');
        n.attrs.delete('coerce_2d');
        break;
      case 'GroupNormalization':
        if ((intAttr('affine_per_group') === 1) !== this.opset < 21) this.fail(n, 'scale/bias per group vs per channel');
        n.attrs.delete('affine_per_group');
        // `affine=0` tells the MindSpore emitter that scale and bias are the identity; ONNX has no such attribute.
        n.attrs.delete('affine');
        break;
      case 'Upsample':
      case 'Resize':
        if (op === 'Upsample' || this.opset < 11) {
          const coord = n.attrs.get('coordinate_transformation_mode');
          const nearest = n.attrs.get('nearest_mode');
          if ((coord && coord.value !== 'asymmetric') || (nearest && nearest.value !== 'floor' && n.attrs.get('mode')?.value === 'nearest')) {
            this.fail(n, 'only asymmetric coordinates and floor rounding exist before opset 11');
          }
          n.attrs.delete('coordinate_transformation_mode');
          n.attrs.delete('nearest_mode');
        }
        break;
      case 'Cast':
        if (n.inputs.length > 1) n.replaceInput(1, null);
        break;
      default:
        if (this.opset < 7 && LEGACY_BROADCAST.has(op)) this.legacyBroadcast(n);
    }
  }

  /** Before opset 7 a binary op broadcasts only with `broadcast=1`, B lined up with A at `axis`. */
  private legacyBroadcast(n: Node): void {
    const shape = (v: Value | null) => (v?.type?.kind === 'tensor' ? v.type.shape : null);
    const a = shape(n.inputs[0] ?? null);
    const b = shape(n.inputs[1] ?? null);
    if (!a || !b) this.fail(n, 'the operands\' shapes are unknown, and legacy broadcasting needs them');
    if (a.length === b.length && a.every((d, i) => d === b[i])) return;
    // Trailing unit dims of B say where it lines up; only a constant B can drop them.
    let k = b.length;
    while (k > 0 && b[k - 1] === 1) k--;
    const bv = n.inputs[1]!;
    if (k < b.length) {
      if (!bv.const) this.fail(n, `numpy broadcasting of [${a.join(',')}] and [${b.join(',')}] needs opset 7`);
      const c = bv.const;
      const g = n.graph ?? this.model.graph;
      n.replaceInput(1, g.addConstant(this.fresh(`${bv.name}_legacy`), Tensor.fromBytes(c.dtype, c.dims.slice(0, k), c.bytes, bv.name)));
      if (bv.uses.length === 0 && !g.inputs.includes(bv) && !g.outputs.includes(bv)) g.removeInitializer(bv);
    }
    const axis = a.length - b.length;
    if (axis < 0) this.fail(n, `B of rank ${b.length} is larger than A of rank ${a.length}`);
    n.setAttr('broadcast', { type: 'int', value: 1 });
    n.setAttr('axis', { type: 'int', value: axis });
  }
}


function dataType(n: Node): DType {
  const t = n.inputs[0]?.type;
  const d = t?.kind === 'tensor' ? t.dtype : null;
  return d ?? dtypeFromName('float32')!;
}

function isDefault(o: Operand, v: number[] | number): boolean {
  if (o.attr === 'steps') return (v as number[]).every((s) => s === 1);
  if (o.attr === 'training_mode') return v === 0;
  if (o.attr === 'roi') return (v as number[]).length === 0;
  return false;
}

