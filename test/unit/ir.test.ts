import { describe, expect, it } from 'vitest';
import { Builder } from '../helpers/builder.js';
import { Graph } from '../../src/ir/graph.js';
import { Node } from '../../src/ir/node.js';
import { Value } from '../../src/ir/value.js';
import { verify, verifyProblems } from '../../src/ir/verify.js';
import { printGraph } from '../../src/ir/print.js';

function chain() {
  const b = new Builder();
  const x = b.input('x');
  const relu = b.op('Relu', [x], { name: 'relu' });
  const neg = b.op('Neg', [relu.output], { name: 'neg' });
  const add = b.op('Add', [relu.output, neg.output], { name: 'add' });
  b.output(add.output);
  return { b, g: b.graph, x, relu, neg, add };
}

describe('edges', () => {
  it('registers uses when a node is built', () => {
    const { x, relu, neg, add } = chain();
    expect(x.uses).toEqual([{ node: relu, index: 0 }]);
    expect(relu.output.uses).toEqual([{ node: neg, index: 0 }, { node: add, index: 0 }]);
    expect(neg.output.producer).toBe(neg);
    expect(neg.output.outputIndex).toBe(0);
  });

  it('replaceInput keeps both sides in sync', () => {
    const { g, x, relu, neg, add } = chain();
    add.replaceInput(1, x);
    expect(neg.output.uses).toEqual([]);
    expect(x.uses).toContainEqual({ node: add, index: 1 });
    add.replaceInput(1, null);
    expect(add.inputs[1]).toBeNull();
    expect(x.uses).toEqual([{ node: relu, index: 0 }]);
    expect(verifyProblems(g)).toEqual([]);
  });

  it('replaceAllUsesWith rewires nodes and graph outputs', () => {
    const { g, relu, neg, add } = chain();
    g.replaceAllUsesWith(add.output, relu.output);
    expect(g.outputs[0]).toBe(relu.output);
    g.replaceAllUsesWith(relu.output, neg.output);
    // neg now reads its own output: the verifier must catch that.
    expect(verifyProblems(g).some((p) => /before it is produced/.test(p.message))).toBe(true);
  });

  it('replaceAllUsesWith reaches nodes inside subgraphs reading outer values', () => {
    const b = new Builder();
    const x = b.input('x');
    const y = b.input('y');
    const body = new Graph('then');
    const inner = new Node({ op: 'Identity', inputs: [x] });
    body.append(inner);
    body.outputs.push(inner.output);
    const cond = b.input('c', [], undefined);
    const iff = b.op('If', [cond], { attrs: { then_branch: { type: 'graph', value: body }, else_branch: { type: 'graph', value: new Graph('else') } } });
    b.output(iff.output);
    b.graph.replaceAllUsesWith(x, y);
    expect(inner.inputs[0]).toBe(y);
    expect(body.parent).toBe(iff);
  });
});

describe('node list', () => {
  it('inserts before and after', () => {
    const { g, x, relu, neg } = chain();
    const a = new Node({ op: 'Abs', inputs: [x] });
    const s = new Node({ op: 'Sqrt', inputs: [x] });
    g.insertBefore(relu, a);
    g.insertAfter(neg, s);
    expect(g.nodes.map((n) => n.op)).toEqual(['Abs', 'Relu', 'Neg', 'Sqrt', 'Add']);
    expect(g.first).toBe(a);
    expect(g.nodeCount).toBe(5);
    expect(verifyProblems(g)).toEqual([]);
  });

  it('refuses to add a node twice or insert next to a foreign node', () => {
    const { g, relu } = chain();
    expect(() => g.append(relu)).toThrow(/already in a graph/);
    const other = new Graph('other');
    expect(() => other.insertAfter(relu, new Node({ op: 'Abs' }))).toThrow(/not in graph/);
  });

  it('safe remove refuses while outputs are used, and detaches inputs', () => {
    const { g, relu, neg, add } = chain();
    expect(() => g.remove(neg)).toThrow(/still used by add/);
    expect(() => g.remove(add)).toThrow(/graph output/);
    g.outputs[0] = relu.output;
    g.remove([add, neg]);
    expect(relu.output.uses).toEqual([]);
    expect(g.nodes.map((n) => n.op)).toEqual(['Relu']);
    expect(add.graph).toBeNull();
    expect(verifyProblems(g)).toEqual([]);
  });

  it('unsafe remove leaves dangling uses that verify reports', () => {
    const { g, neg } = chain();
    g.remove(neg, { safe: false });
    expect(verifyProblems(g).some((p) => /not defined in scope/.test(p.message))).toBe(true);
  });

  it('iterates safely while removing ahead and inserting behind the cursor', () => {
    const { g, x, relu, neg, add } = chain();
    g.outputs[0] = relu.output;
    const seen: string[] = [];
    for (const n of g) {
      seen.push(n.op);
      if (n === relu) {
        g.remove([add, neg]);
        g.append(new Node({ op: 'Exp', inputs: [x] }));
      }
    }
    expect(seen).toEqual(['Relu', 'Exp']);
  });

  it('iterates on when the current node is removed', () => {
    const { g, relu, neg, add } = chain();
    g.outputs[0] = relu.output;
    const seen: string[] = [];
    for (const n of g) {
      seen.push(n.op);
      if (n === neg) g.remove([add, neg]);
    }
    expect(seen).toEqual(['Relu', 'Neg']);
  });
});

describe('verify catches each kind of broken graph', () => {
  it('accepts a well-formed graph', () => {
    expect(() => verify(chain().g)).not.toThrow();
  });

  it('a node reading a value defined nowhere', () => {
    const b = new Builder();
    const stray = new Value('stray');
    const n = b.op('Relu', [stray], { name: 'r' });
    b.output(n.output);
    expect(() => verify(b.graph)).toThrow(/not defined in scope/);
  });

  it('nodes out of topological order', () => {
    const { g, relu, add } = chain();
    g.remove(relu, { safe: false });
    g.insertAfter(add, relu);
    // The unsafe remove dropped relu's input edge; restore it so only the order is wrong.
    relu.replaceInput(0, g.inputs[0]!);
    expect(verifyProblems(g).some((p) => /before it is produced/.test(p.message))).toBe(true);
  });

  it('a use list that disagrees with the node inputs', () => {
    const { g, x, relu } = chain();
    x.removeUse(relu, 0);
    expect(() => verify(g)).toThrow(/does not list its use/);
  });

  it('a stale use entry', () => {
    const { g, x, neg } = chain();
    x.addUse(neg, 0);
    expect(() => verify(g)).toThrow(/reads something else/);
  });

  it('an output whose producer points elsewhere', () => {
    const { g, neg, add } = chain();
    neg.output.producer = add;
    expect(() => verify(g)).toThrow(/does not point back/);
  });

  it('a value defined twice', () => {
    const { g, relu, neg } = chain();
    (neg.outputs as Value[])[0] = relu.output;
    expect(verifyProblems(g).some((p) => /defined twice/.test(p.message))).toBe(true);
  });

  it('an undefined graph output', () => {
    const { g } = chain();
    g.outputs.push(new Value('ghost'));
    expect(() => verify(g)).toThrow(/graph output ghost is not defined/);
  });

  it('a constant without data', () => {
    const b = new Builder();
    const c = b.constant('c', [1, 2]);
    c.const = null;
    expect(verifyProblems(b.graph).some((p) => /holds no tensor/.test(p.message))).toBe(true);
  });

  it('broken node list links', () => {
    const { g, neg, add } = chain();
    add.prev = null;
    expect(() => verify(g)).toThrow(/links are inconsistent/);
    add.prev = neg;
  });

  it('a subgraph that does not point back to its node', () => {
    const b = new Builder();
    const c = b.input('c', []);
    const body = new Graph('body');
    const iff = b.op('If', [c], { attrs: { then_branch: { type: 'graph', value: body }, else_branch: { type: 'graph', value: new Graph('e') } } });
    body.parent = null;
    b.output(iff.output);
    expect(() => verify(b.graph)).toThrow(/does not point back to its node/);
  });

  it('op-level checks supplied by the op tables', () => {
    const { g } = chain();
    expect(() => verify(g, { checkNode: (n) => (n.op === 'Neg' ? ['Neg takes 1 input'] : []) })).toThrow(/Neg takes 1 input/);
  });
});

describe('print', () => {
  it('is stable and names unnamed or clashing values by definition order', () => {
    const { g, neg } = chain();
    neg.output.name = 'relu_out0';
    const text = printGraph(g);
    expect(printGraph(g)).toBe(text);
    expect(text).toMatchInlineSnapshot(`
      "graph "g" (%x: float32[2,3]) {
        %relu_out0 = Relu(%x) : ?  @"relu"
        %0 = Neg(%relu_out0) : ?  @"neg"
        %add_out0 = Add(%relu_out0, %0) : ?  @"add"
        return %add_out0
      }
      "
    `);
  });
});
