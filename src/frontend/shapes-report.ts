/** `inspect --shapes`: every value with its inferred dtype/shape, and the ops inference could not handle. */
import type { Graph } from '../ir/graph.js';
import type { Model } from '../ir/model.js';
import { formatType } from '../ir/shape.js';
import { inferShapes, type UnsupportedOp } from '../dialect/ops/infer.js';
import type { Node } from '../ir/node.js';
import { dialectName } from '../dialect/names.js';
import { spatialRank } from '../dialect/to-mint.js';

export interface ValueShape {
  name: string;
  type: string;
  /** `op` of the producing node, or 'input' / 'constant'. */
  producer: string;
  /** The mint dialect op the producing node becomes, when the tables know it. */
  mint?: string;
  node?: string;
  /** Compile-time known elements (shape arithmetic), when any. */
  known?: (number | string | null)[];
  /** Nesting: 0 for the main graph, 1 inside a subgraph, ... */
  depth: number;
}

export interface ShapesReport {
  values: ValueShape[];
  unsupported: UnsupportedOp[];
  unknownCount: number;
  deadSubgraphs: number;
}

export function shapesReport(model: Model): ShapesReport {
  const r = inferShapes(model);
  const values: ValueShape[] = [];
  const visit = (g: Graph, depth: number) => {
    for (const v of g.inputs) if (!v.const) values.push({ name: v.name, type: formatType(v.type), producer: 'input', depth });
    for (const n of g) {
      for (const o of n.outputs) {
        if (!o) continue;
        const k = r.known.get(o);
        const mint = n.domain === '' ? mintName(n) : undefined;
        values.push({ name: o.name, type: formatType(o.type), producer: n.qualifiedOp, node: n.name, depth, ...(mint ? { mint } : {}), ...(k ? { known: k.elems } : {}) });
      }
      for (const sg of n.subgraphs()) if (!r.dead.has(sg)) visit(sg, depth + 1);
    }
  };
  visit(model.graph, 0);
  return { values, unsupported: r.unsupported, unknownCount: r.unknown.length, deadSubgraphs: r.dead.size };
}

function mintName(n: Node): string | undefined {
  return dialectName(n, spatialRank(n));
}

export function formatShapes(s: ShapesReport): string {
  const L: string[] = [];
  const q = (x: string) => (/^[\x21-\x7e]*$/.test(x) && !x.includes('"') ? x : JSON.stringify(x));
  L.push(`  values       ${s.values.length} (${s.unknownCount} not fully known)${s.deadSubgraphs ? `; ${s.deadSubgraphs} subgraphs never run (condition known)` : ''}`);
  for (const v of s.values) {
    const known = v.known ? `  = [${v.known.map((e) => (e === null ? '?' : String(e))).join(', ')}]` : '';
    const from = v.producer === 'input' ? 'input' : `${q(v.producer)}${v.node ? ` ${q(v.node)}` : ''}${v.mint ? ` (${v.mint})` : ''}`;
    L.push(`    ${'  '.repeat(v.depth)}${q(v.name)}: ${v.type}${known}  <- ${from}`);
  }
  if (s.unsupported.length) {
    L.push(`  unsupported  ${s.unsupported.length} nodes`);
    for (const u of s.unsupported) L.push(`    ${q(u.node || '(unnamed)')}: ${u.domain ? `${q(u.domain)}::` : ''}${q(u.op)} (opset ${u.opset}): ${u.reason}`);
  } else {
    L.push('  unsupported  none');
  }
  return L.join('\n') + '\n';
}
