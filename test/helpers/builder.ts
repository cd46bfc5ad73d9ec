/** Small-graph builder for unit tests. */
import { Graph } from '../../src/ir/graph.js';
import { Node } from '../../src/ir/node.js';
import { Value } from '../../src/ir/value.js';
import { Tensor } from '../../src/ir/tensor.js';
import { dtypeFromName } from '../../src/ir/dtype.js';
import { tensorType, type Shape } from '../../src/ir/shape.js';
import type { Attribute } from '../../src/ir/attribute.js';

export const f32 = dtypeFromName('float32')!;
export const i64 = dtypeFromName('int64')!;

export class Builder {
  readonly graph: Graph;
  constructor(name = 'g') {
    this.graph = new Graph(name);
  }
  input(name: string, shape: Shape = [2, 3], dtype = f32): Value {
    return this.graph.addInput(new Value(name, tensorType(dtype, shape)));
  }
  constant(name: string, values: number[], dims = [values.length]): Value {
    return this.graph.addConstant(name, Tensor.fromArray(f32, dims, new Float32Array(values), name));
  }
  op(op: string, inputs: (Value | null)[], opts: { outputs?: number; name?: string; attrs?: Record<string, Attribute>; domain?: string } = {}): Node {
    const n = new Node({ op, inputs, outputs: opts.outputs ?? 1, name: opts.name ?? '', attrs: Object.entries(opts.attrs ?? {}), domain: opts.domain });
    n.outputs.forEach((v, i) => v && (v.name = `${opts.name || op.toLowerCase()}_out${i}`));
    this.graph.append(n);
    return n;
  }
  output(...vs: Value[]): Graph {
    this.graph.outputs.push(...vs);
    return this.graph;
  }
}
