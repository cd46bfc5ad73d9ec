import { Value } from './value.js';
import type { Graph } from './graph.js';
import type { Attribute } from './attribute.js';
import { attributeGraphs, NO_GRAPHS } from './attribute.js';
import type { ValueType } from './shape.js';

export interface NodeInit {
  op: string;
  domain?: string;
  name?: string;
  inputs?: readonly (Value | null)[];
  /** Output values to adopt, or how many fresh outputs to create. */
  outputs?: readonly (Value | null)[] | number;
  attrs?: Iterable<[string, Attribute]>;
  overload?: string;
}

/**
 * An operation. `domain` + `op` identify it ('' is the ONNX default domain; the mint dialect uses 'mint').
 * Optional inputs/outputs that are absent are `null`. Inputs are registered as uses as soon as the node exists.
 */
export class Node {
  domain: string;
  op: string;
  name: string;
  overload: string;
  docString = '';
  metadata = new Map<string, string>();
  readonly attrs: Map<string, Attribute>;
  /** @internal maintained by Graph */
  graph: Graph | null = null;
  /** @internal linked list maintained by Graph */
  prev: Node | null = null;
  /** @internal */
  next: Node | null = null;
  private readonly inputList: (Value | null)[];
  private readonly outputList: (Value | null)[];

  constructor(init: NodeInit) {
    this.op = init.op;
    this.domain = init.domain ?? '';
    this.name = init.name ?? '';
    this.overload = init.overload ?? '';
    this.attrs = new Map(init.attrs ?? []);
    this.inputList = [...(init.inputs ?? [])];
    this.inputList.forEach((v, i) => v?.addUse(this, i));
    const outs = init.outputs ?? 1;
    this.outputList = typeof outs === 'number' ? Array.from({ length: outs }, () => new Value()) : [...outs];
    this.outputList.forEach((v, i) => {
      if (!v) return;
      if (v.producer || v.owner) throw new Error(`value ${v.name} already has a producer`);
      v.producer = this;
      v.outputIndex = i;
    });
    for (const a of this.attrs.values()) for (const g of attributeGraphs(a)) g.parent = this;
  }

  get inputs(): readonly (Value | null)[] {
    return this.inputList;
  }

  get outputs(): readonly (Value | null)[] {
    return this.outputList;
  }

  /** First output; throws if absent (most ops have exactly one). */
  get output(): Value {
    const v = this.outputList[0];
    if (!v) throw new Error(`node ${this.name || this.op} has no first output`);
    return v;
  }

  /** `domain::op`, or just `op` in the default domain. */
  get qualifiedOp(): string {
    return this.domain === '' || this.domain === 'ai.onnx' ? this.op : `${this.domain}::${this.op}`;
  }

  replaceInput(index: number, value: Value | null): void {
    if (index < 0 || index >= this.inputList.length) throw new Error(`replaceInput: index ${index} out of range`);
    const old = this.inputList[index];
    if (old === value) return;
    old?.removeUse(this, index);
    this.inputList[index] = value;
    value?.addUse(this, index);
  }

  appendInput(value: Value | null): void {
    this.inputList.push(value);
    value?.addUse(this, this.inputList.length - 1);
  }

  /** Drops trailing absent inputs (ONNX writes no empty names past the last present input). */
  trimInputs(): void {
    while (this.inputList.length > 0 && this.inputList[this.inputList.length - 1] === null) this.inputList.pop();
  }

  /** Creates a fresh output value at the end. */
  appendOutput(name = '', type: ValueType | null = null): Value {
    const v = new Value(name, type);
    v.producer = this;
    v.outputIndex = this.outputList.length;
    this.outputList.push(v);
    return v;
  }

  /** Drops all input edges (used when the node leaves its graph). */
  detachInputs(): void {
    this.inputList.forEach((v, i) => v?.removeUse(this, i));
    this.inputList.fill(null);
  }

  setAttr(name: string, attr: Attribute): void {
    this.attrs.set(name, attr);
    for (const g of attributeGraphs(attr)) g.parent = this;
  }

  /** Subgraphs in attribute order. */
  subgraphs(): Graph[] {
    let out: Graph[] | null = null;
    for (const a of this.attrs.values()) {
      const gs = attributeGraphs(a);
      if (gs.length) (out ??= []).push(...gs);
    }
    return out ?? NO_GRAPHS;
  }
}
