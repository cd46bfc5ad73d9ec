/** Dead-code elimination: nodes none of whose outputs is used (nor a graph output), then unused initializers. */
import type { Graph } from '../../ir/graph.js';
import type { Pass } from '../pass.js';
import { result } from '../pass.js';

export function deadNodes(g: Graph): number {
  let removed = 0;
  const outputs = new Set(g.outputs);
  for (let n = g.last; n; ) {
    const prev = n.prev;
    if (n.outputs.every((o) => !o || (o.uses.length === 0 && !outputs.has(o)))) {
      g.remove(n);
      removed++;
    }
    n = prev;
  }
  return removed;
}

export const dce: Pass = {
  name: 'dce',
  description: 'remove nodes whose results are never used, and unused initializers',
  run(model) {
    const g = model.graph;
    const nodes = deadNodes(g);
    let initializers = 0;
    for (const v of [...g.initializers]) {
      if (v.uses.length === 0 && !g.outputs.includes(v) && !g.inputs.includes(v)) {
        g.removeInitializer(v);
        initializers++;
      }
    }
    return result({ nodes, initializers });
  },
};
