import type { Attribute } from './attribute.js';
import type { Graph } from './graph.js';
import type { Node } from './node.js';
import type { Tensor } from './tensor.js';
import type { Value } from './value.js';
import { formatType } from './shape.js';

/**
 * Stable, diff-friendly text form of a graph. Values print by name where the name is unique, else as %N in
 * definition order, so the same graph always prints the same text.
 */
export function printGraph(graph: Graph): string {
  const names = new Namer();
  const lines: string[] = [];
  emitGraph(graph, names, lines, '');
  return lines.join('\n') + '\n';
}

class Namer {
  private readonly map = new Map<Value, string>();
  private readonly taken = new Set<string>();
  private counter = 0;

  of(v: Value): string {
    let n = this.map.get(v);
    if (n === undefined) {
      let base = v.name;
      if (!base || this.taken.has(base)) {
        do base = String(this.counter++);
        while (this.taken.has(base));
      }
      this.taken.add(base);
      n = '%' + (/^[A-Za-z0-9_.:/-]+$/.test(base) ? base : JSON.stringify(base));
      this.map.set(v, n);
    }
    return n;
  }
}

function emitGraph(graph: Graph, names: Namer, lines: string[], indent: string): void {
  const ins = graph.inputs.map((v) => `${names.of(v)}: ${formatType(v.type)}${v.const ? ' = const' : ''}`);
  lines.push(`${indent}graph ${JSON.stringify(graph.name)} (${ins.join(', ')}) {`);
  const inner = indent + '  ';
  for (const v of graph.initializers) {
    if (graph.inputs.includes(v)) continue;
    lines.push(`${inner}${names.of(v)} = const ${tensorSummary(v.const!)}`);
  }
  for (const n of graph) emitNode(n, names, lines, inner);
  lines.push(`${inner}return ${graph.outputs.map((v) => names.of(v)).join(', ')}`);
  lines.push(`${indent}}`);
}

function emitNode(n: Node, names: Namer, lines: string[], indent: string): void {
  const outs = n.outputs.map((v) => (v ? names.of(v) : '_')).join(', ');
  const ins = n.inputs.map((v) => (v ? names.of(v) : '_')).join(', ');
  const plain: string[] = [];
  const graphs: [string, Graph][] = [];
  for (const [k, a] of [...n.attrs].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) {
    if (a.type === 'graph') graphs.push([k, a.value]);
    else if (a.type === 'graphs') a.value.forEach((g, i) => graphs.push([`${k}[${i}]`, g]));
    else plain.push(`${k}=${formatAttr(a)}`);
  }
  const attrs = plain.length ? ` {${plain.join(', ')}}` : '';
  const types = n.outputs.map((v) => (v ? formatType(v.type) : '_')).join(', ');
  const label = n.name ? `  @${JSON.stringify(n.name)}` : '';
  lines.push(`${indent}${outs} = ${n.qualifiedOp}(${ins})${attrs} : ${types}${label}`);
  for (const [k, g] of graphs) {
    lines.push(`${indent}  ${k}:`);
    emitGraph(g, names, lines, indent + '    ');
  }
}

function tensorSummary(t: Tensor): string {
  const head = `${t.dtype.name}[${t.dims.join(',')}]`;
  if (t.isString) return `${head} ${JSON.stringify(t.strings.slice(0, 4).map((s) => new TextDecoder().decode(s)))}`;
  if (t.size <= 8 && t.source === null) {
    try {
      const arr = Array.from(t.toArray() as ArrayLike<number | bigint>, (x) => String(x));
      return `${head} [${arr.join(', ')}]`;
    } catch {
      /* no typed view for this dtype: fall through to the byte count */
    }
  }
  return `${head} (${t.nbytes} bytes)`;
}

function formatAttr(a: Attribute): string {
  switch (a.type) {
    case 'float':
    case 'int':
      return String(a.value);
    case 'string':
      return JSON.stringify(a.value);
    case 'floats':
    case 'ints':
      return `[${a.value.map(String).join(',')}]`;
    case 'strings':
      return JSON.stringify(a.value);
    case 'tensor':
      return `tensor<${tensorSummary(a.value)}>`;
    case 'tensors':
      return `[${a.value.map((t) => `tensor<${tensorSummary(t)}>`).join(', ')}]`;
    case 'sparse_tensor':
      return `sparse<${a.value.values.dtype.name}[${a.value.dims.join(',')}]>`;
    case 'sparse_tensors':
      return `[${a.value.map((s) => `sparse<${s.values.dtype.name}[${s.dims.join(',')}]>`).join(', ')}]`;
    case 'type_proto':
      return `type<${formatType(a.value)}>`;
    case 'type_protos':
      return `[${a.value.map((t) => `type<${formatType(t)}>`).join(', ')}]`;
    case 'graph':
    case 'graphs':
      return '<graph>';
  }
}
