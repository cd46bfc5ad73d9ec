/** Helpers shared by passes. */
import type { Attribute } from '../ir/attribute.js';
import type { Graph } from '../ir/graph.js';
import type { Model } from '../ir/model.js';
import { Node } from '../ir/node.js';
import { Value } from '../ir/value.js';
import type { Tensor } from '../ir/tensor.js';

/**
 * Initializers and Constant-node outputs of the main graph, by value, seen through Identity (torch aliases shared
 * initializers with Identity nodes named after each parameter).
 */
export function constantsOf(model: Model): (v: Value | null | undefined) => Tensor | null {
  const map = new Map<Value, Tensor>();
  for (const n of model.graph) {
    const out = n.outputs[0];
    if (!out) continue;
    if (n.op === 'Constant' || n.op === 'msgraph.constant') {
      const a = n.attrs.get('value');
      if (a?.type === 'tensor') map.set(out, a.value);
    } else if ((n.op === 'Identity' || n.op === 'msgraph.identity') && n.inputs[0]) {
      const t = n.inputs[0].const ?? map.get(n.inputs[0]);
      if (t) map.set(out, t);
    }
  }
  return (v) => (v ? v.const ?? map.get(v) ?? null : null);
}

/** The one node that reads `v`, when exactly one does and `v` is not a graph output (the fusions' chain test). */
export function soleUser(v: Value | null | undefined, g: Graph): Node | null {
  return v && v.uses.length === 1 && !g.outputs.includes(v) ? v.uses[0]!.node : null;
}

/** A name for a fused node in the same scope as `like` (`/a/b/Softmax` -> `/a/b/<leaf>`). */
export function scopedName(like: Node, leaf: string): string {
  return like.name.includes('/') ? like.name.replace(/[^/]*$/, leaf) : `${like.name}_${leaf}`;
}

/** `name`, or `name_1`, `name_2`, ... when a node of `g` that is not being replaced already has it. */
export function uniqueNodeName(g: Graph, name: string, replaced: ReadonlySet<Node> = new Set()): string {
  if (!name) return name;
  const taken = new Set<string>();
  for (const n of g) if (!replaced.has(n)) taken.add(n.name);
  if (!taken.has(name)) return name;
  let i = 1;
  while (taken.has(`${name}_${i}`)) i++;
  return `${name}_${i}`;
}

/**
 * Replaces the matched `nodes` by one mint node computing `out`: the new node goes where `at` was, takes over every
 * use of `out` (graph outputs included) under the same name and type, and inherits `source`'s metadata (module
 * scopes).
 */
export function replaceWithNode(
  g: Graph,
  spec: { op: string; name: string; inputs: (Value | null)[]; attrs?: [string, Attribute][] },
  out: Value,
  at: Node,
  nodes: Iterable<Node>,
  source: Node,
): Node {
  const list = [...nodes];
  const fused = new Node({ op: spec.op, domain: 'mint', name: uniqueNodeName(g, spec.name, new Set(list)), inputs: spec.inputs, outputs: [new Value(out.name, out.type)], attrs: spec.attrs ?? [] });
  for (const [k, v] of source.metadata) fused.metadata.set(k, v);
  g.insertBefore(at, fused);
  g.replaceAllUsesWith(out, fused.outputs[0]!);
  g.remove(list);
  return fused;
}
