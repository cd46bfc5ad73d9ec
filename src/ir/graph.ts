import { Node } from './node.js';
import { Value } from './value.js';
import type { Tensor } from './tensor.js';

/**
 * A graph: inputs, constants, a doubly linked list of nodes in topological order, outputs.
 * Iterating is safe while mutating: nodes removed ahead of the cursor are skipped, nodes inserted after it are seen.
 */
export class Graph implements Iterable<Node> {
  name: string;
  docString = '';
  metadata = new Map<string, string>();
  readonly inputs: Value[] = [];
  readonly outputs: Value[] = [];
  /** Constant values (initializers), in file order. */
  readonly initializers: Value[] = [];
  /** Opaque TensorAnnotation messages (quantization), kept for round trips. */
  quantizationAnnotations: Uint8Array[] = [];
  /** The node whose attribute holds this graph, for subgraphs. */
  parent: Node | null = null;
  private head: Node | null = null;
  private tail: Node | null = null;
  private count = 0;

  constructor(name = '') {
    this.name = name;
  }

  get nodeCount(): number {
    return this.count;
  }

  get nodes(): Node[] {
    return [...this];
  }

  get first(): Node | null {
    return this.head;
  }

  get last(): Node | null {
    return this.tail;
  }

  *[Symbol.iterator](): Iterator<Node> {
    let n = this.head;
    while (n) {
      if (n.graph === this) yield n;
      n = n.next;
      // Skip nodes removed while the caller held the previous one; their `next` still points forward.
      while (n && n.graph !== this) n = n.next;
    }
  }

  /** Nodes of this graph and, depth first, of every subgraph. */
  *allNodes(): Generator<Node> {
    for (const n of this) {
      yield n;
      for (const g of n.subgraphs()) yield* g.allNodes();
    }
  }

  addInput(value: Value): Value {
    if (value.producer) throw new Error(`graph input ${value.name} has a producer`);
    value.owner = this;
    this.inputs.push(value);
    return value;
  }

  addInitializer(value: Value, tensor: Tensor): Value {
    if (value.producer) throw new Error(`initializer ${value.name} has a producer`);
    value.owner = this;
    value.const = tensor;
    this.initializers.push(value);
    return value;
  }

  /** Creates a constant value holding `tensor`. */
  addConstant(name: string, tensor: Tensor): Value {
    return this.addInitializer(new Value(name), tensor);
  }

  removeInitializer(value: Value): void {
    if (value.uses.length > 0 || this.outputs.includes(value)) {
      throw new Error(`removeInitializer: ${value.name} is still used`);
    }
    const i = this.initializers.indexOf(value);
    if (i >= 0) this.initializers.splice(i, 1);
    const j = this.inputs.indexOf(value);
    if (j >= 0) this.inputs.splice(j, 1);
    value.owner = null;
    value.const = null;
  }

  append(node: Node): Node {
    this.link(node, this.tail, null);
    return node;
  }

  insertBefore(ref: Node, node: Node): Node {
    this.checkMember(ref);
    this.link(node, ref.prev, ref);
    return node;
  }

  insertAfter(ref: Node, node: Node): Node {
    this.checkMember(ref);
    this.link(node, ref, ref.next);
    return node;
  }

  /**
   * Removes nodes. With `safe` (the default) it refuses when an output of a removed node is still used by a node
   * that stays, or is a graph output. Removed nodes lose their input edges.
   */
  remove(nodes: Node | Iterable<Node>, opts: { safe?: boolean } = {}): void {
    const list = nodes instanceof Node ? [nodes] : [...nodes];
    const set = new Set(list);
    for (const n of list) this.checkMember(n);
    if (opts.safe !== false) {
      for (const n of list) {
        for (const out of n.outputs) {
          if (!out) continue;
          if (this.outputs.includes(out)) {
            throw new Error(`remove: output ${out.name} of ${n.name || n.op} is a graph output`);
          }
          const user = out.uses.find((u) => !set.has(u.node));
          if (user) {
            throw new Error(`remove: output ${out.name} of ${n.name || n.op} is still used by ${user.node.name || user.node.op}`);
          }
        }
      }
    }
    for (const n of list) {
      n.detachInputs();
      this.unlink(n);
    }
  }

  /** Points every use of `old` (node inputs, nested subgraph reads, graph outputs) at `replacement`. */
  replaceAllUsesWith(old: Value, replacement: Value): void {
    if (old === replacement) return;
    for (const u of [...old.uses]) u.node.replaceInput(u.index, replacement);
    for (let i = 0; i < this.outputs.length; i++) if (this.outputs[i] === old) this.outputs[i] = replacement;
  }

  private checkMember(n: Node): void {
    if (n.graph !== this) throw new Error(`node ${n.name || n.op} is not in graph ${this.name}`);
  }

  private link(node: Node, prev: Node | null, next: Node | null): void {
    if (node.graph) throw new Error(`node ${node.name || node.op} is already in a graph`);
    node.graph = this;
    node.prev = prev;
    node.next = next;
    if (prev) prev.next = node;
    else this.head = node;
    if (next) next.prev = node;
    else this.tail = node;
    this.count++;
  }

  private unlink(node: Node): void {
    const { prev, next } = node;
    if (prev) prev.next = next;
    else this.head = next;
    if (next) next.prev = prev;
    else this.tail = prev;
    node.graph = null;
    // `next` stays so that an iterator standing on this node can continue.
    node.prev = null;
    this.count--;
  }
}
