import { MsgraphError } from '../errors.js';
import type { Graph } from './graph.js';
import type { Node } from './node.js';
import type { Value } from './value.js';

export interface VerifyProblem {
  message: string;
  node?: Node;
}

export interface VerifyOptions {
  /** Op-level checks (arity, dtypes) supplied by the op tables; returns a message per problem. */
  checkNode?: (node: Node) => string[];
}

/** Every broken invariant of `graph` and its subgraphs. Empty when the graph is well formed. */
export function verifyProblems(graph: Graph, opts: VerifyOptions = {}): VerifyProblem[] {
  const problems: VerifyProblem[] = [];
  checkGraph(graph, new Set(), problems, opts);
  return problems;
}

/** Throws a MsgraphError('verify') naming the first broken invariant. */
export function verify(graph: Graph, opts: VerifyOptions = {}): void {
  const problems = verifyProblems(graph, opts);
  if (problems.length > 0) {
    const p = problems[0]!;
    const more = problems.length > 1 ? ` (+${problems.length - 1} more)` : '';
    throw new MsgraphError('verify', `${p.message}${more}`, { node: p.node ? label(p.node) : undefined });
  }
}

function label(n: Node): string {
  return n.name || n.op;
}

function vname(v: Value): string {
  return v.name || '<unnamed>';
}

function checkGraph(graph: Graph, outer: Set<Value>, problems: VerifyProblem[], opts: VerifyOptions): void {
  const defined = new Set<Value>(outer);
  const local = new Set<Value>();
  const define = (v: Value, what: string, node?: Node) => {
    if (local.has(v)) problems.push({ message: `value ${vname(v)} is defined twice (${what})`, node });
    local.add(v);
    defined.add(v);
  };
  for (const v of graph.inputs) {
    if (v.owner !== graph) problems.push({ message: `graph input ${vname(v)} is not owned by graph ${graph.name}` });
    if (v.producer) problems.push({ message: `graph input ${vname(v)} has a producer` });
    if (!v.const) define(v, 'graph input');
  }
  for (const v of graph.initializers) {
    if (v.owner !== graph) problems.push({ message: `constant ${vname(v)} is not owned by graph ${graph.name}` });
    if (!v.const) problems.push({ message: `constant ${vname(v)} holds no tensor` });
    if (v.producer) problems.push({ message: `constant ${vname(v)} has a producer` });
    define(v, 'constant');
  }

  let count = 0;
  let prev: Node | null = null;
  for (let n = graph.first; n; n = n.next) {
    count++;
    if (n.graph !== graph) problems.push({ message: `node list of ${graph.name} holds a node of another graph`, node: n });
    if (n.prev !== prev) problems.push({ message: 'node list links are inconsistent', node: n });
    prev = n;
    n.inputs.forEach((v, i) => {
      if (!v) return;
      if (!defined.has(v)) {
        const why = v.kind === 'node' && v.producer?.graph === graph ? 'before it is produced (cycle or wrong order)' : 'that is not defined in scope';
        problems.push({ message: `input ${i} reads value ${vname(v)} ${why}`, node: n });
      }
      if (!v.uses.some((u) => u.node === n && u.index === i)) {
        problems.push({ message: `value ${vname(v)} does not list its use as input ${i}`, node: n });
      }
    });
    // Subgraphs see everything defined so far, including this node's inputs but not its outputs.
    for (const g of n.subgraphs()) {
      if (g.parent !== n) problems.push({ message: `subgraph ${g.name} does not point back to its node`, node: n });
      checkGraph(g, defined, problems, opts);
    }
    n.outputs.forEach((v, i) => {
      if (!v) return;
      if (v.producer !== n || v.outputIndex !== i) {
        problems.push({ message: `output ${i} (${vname(v)}) does not point back to its producer`, node: n });
      }
      define(v, `output of ${label(n)}`, n);
    });
    if (opts.checkNode) for (const m of opts.checkNode(n)) problems.push({ message: m, node: n });
  }
  if (count !== graph.nodeCount) problems.push({ message: `graph ${graph.name} counts ${graph.nodeCount} nodes but links ${count}` });
  if (prev !== graph.last) problems.push({ message: `graph ${graph.name} tail pointer is stale` });

  for (const v of local) {
    for (const u of v.uses) {
      if (u.node.inputs[u.index] !== v) {
        problems.push({ message: `value ${vname(v)} lists a use as input ${u.index} that reads something else`, node: u.node });
      } else if (!u.node.graph) {
        problems.push({ message: `value ${vname(v)} is used by a node that is in no graph`, node: u.node });
      }
    }
  }
  for (const v of graph.outputs) {
    if (!defined.has(v)) problems.push({ message: `graph output ${vname(v)} is not defined in graph ${graph.name}` });
  }
}
