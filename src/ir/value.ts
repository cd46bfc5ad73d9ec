import type { Node } from './node.js';
import type { Graph } from './graph.js';
import type { Tensor } from './tensor.js';
import type { ValueType } from './shape.js';

export interface Use {
  node: Node;
  index: number;
}

/**
 * A value: produced by exactly one node output, or a graph input, or a constant (initializer). The object is the
 * identity; `name` is only used for printing and encoding.
 */
export class Value {
  name: string;
  type: ValueType | null;
  docString = '';
  metadata = new Map<string, string>();
  /** The node producing it, or null for graph inputs and constants. */
  producer: Node | null = null;
  /** Output index at the producer. */
  outputIndex = -1;
  /** Graph that owns it when it is a graph input or constant. */
  owner: Graph | null = null;
  /** Initializer data; an initializer that is also listed as a graph input is an overridable default. */
  const: Tensor | null = null;
  private readonly useList: Use[] = [];

  constructor(name = '', type: ValueType | null = null) {
    this.name = name;
    this.type = type;
  }

  get uses(): readonly Use[] {
    return this.useList;
  }

  /** The graph this value lives in (the producer's graph, or the owner). */
  get graph(): Graph | null {
    return this.producer ? this.producer.graph : this.owner;
  }

  get kind(): 'node' | 'const' | 'input' | 'detached' {
    if (this.producer) return 'node';
    if (this.const) return 'const';
    if (this.owner) return 'input';
    return 'detached';
  }

  /** @internal edges are kept in sync by Node and Graph only. */
  addUse(node: Node, index: number): void {
    this.useList.push({ node, index });
  }

  /** @internal */
  removeUse(node: Node, index: number): void {
    const i = this.useList.findIndex((u) => u.node === node && u.index === index);
    if (i < 0) throw new Error(`internal: use (${node.op}, ${index}) not found on value ${this.name}`);
    this.useList.splice(i, 1);
  }
}
