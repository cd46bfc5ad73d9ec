/** The module tree: items placed at module paths, constant parameters owned by modules, and which modules become Cells. */
import type { Node } from '../../ir/node.js';
import type { Value } from '../../ir/value.js';
import type { Tensor } from '../../ir/tensor.js';
import { nodeScope } from '../../frontend/hierarchy.js';
import type { Layer } from './layers.js';
import { identifier } from './python.js';
import { type Buffer, type Item, Mod, NUMERIC, PATH_NAME, allInputs, isWithin, outerRefs } from './cells.js';
import type { Emitter } from './emit.js';

export function mod(e: Emitter, path: string[]): Mod {
  let cur = e.root;
  for (let i = 0; i < path.length; i++) {
    let m = cur.children.get(path[i]!);
    if (!m) {
      m = new Mod(path[i]!, path.slice(0, i + 1), cur);
      cur.children.set(path[i]!, m);
      e.modByPath.set(m.path.join('.'), m);
    }
    cur = m;
  }
  return cur;
}

export function buildTree(e: Emitter): void {
  const scopeOf = (n: Node) => nodeScope(n);
  // Node scopes first (so a layer can tell whether its scope holds other work).
  const nodeCount = new Map<string, number>();
  for (const it of e.items) if (it.kind === 'node') {
    const key = (scopeOf(it.node)?.path ?? []).join('.');
    nodeCount.set(key, (nodeCount.get(key) ?? 0) + 1);
  }
  const layerAt = new Map<string, Layer>();
  for (const it of e.items) {
    if (it.kind !== 'layer') continue;
    const l = it.layer;
    let path = l.path;
    if (!l.named) {
      const key = path.join('.');
      const sameScope = e.items.filter((o) => o.kind === 'layer' && o !== it && !o.layer.named && o.layer.path.join('.') === key).length;
      if ((nodeCount.get(key) ?? 0) > 0 || sameScope > 0) path = [...path, identifier(l.cls.split('.').pop()!)];
    }
    let key = path.join('.');
    if (layerAt.has(key) || hasLayerPrefix(e, layerAt, path)) {
      // Tied weights or an unnamed clash: the later layer goes next to the first, suffixed.
      let i = 1;
      while (layerAt.has(`${key}_${i}`)) i++;
      path = [...path.slice(0, -1), `${path[path.length - 1]}_${i}`];
      key = path.join('.');
    }
    layerAt.set(key, l);
    const m = mod(e, path);
    m.layer = l;
    it.mod = m;
    for (const p of l.params) {
      const src = l.nodes.flatMap((n) => n.inputs).find((v) => v && v.name === p.source && !p.transform);
      if (src && !e.layerParamOf.has(src)) e.layerParamOf.set(src, { mod: m, attr: p.attr });
    }
  }
  for (const it of e.items) {
    if (it.kind !== 'node') continue;
    const sc = scopeOf(it.node);
    let path = sc?.path ?? [];
    // Work scoped inside a layer's own module belongs to the layer's parent.
    for (let k = path.length; k > 0; k--) if (layerAt.has(path.slice(0, k).join('.'))) {
      path = path.slice(0, k - 1);
      break;
    }
    it.mod = mod(e, path);
    it.mod.items.push(it);
    if (sc?.classes) sc.classes.forEach((c, i) => {
      const m = e.modByPath.get(path.slice(0, i + 1).join('.'));
      if (m && c && !m.classHint) m.classHint = c.split('.').pop();
    });
  }
  for (const it of e.items) if (it.kind === 'layer') it.mod.items.push(it);
}

export function hasLayerPrefix(e: Emitter, layerAt: Map<string, Layer>, path: string[]): boolean {
  for (let k = 1; k < path.length; k++) if (layerAt.has(path.slice(0, k).join('.'))) return true;
  return false;
}

/** Constants that are neither literals nor layer parameters become non-trainable Parameters. */
export function placeBuffers(e: Emitter): void {
  for (const it of e.items) {
    const inputs = it.kind === 'node' ? [...it.node.inputs, ...it.node.subgraphs().flatMap(allInputs)] : [it.layer.input];
    for (const v of inputs) {
      if (!v || !e.constants.has(v) || e.buffers.has(v) || isLiteral(e, v)) continue;
      const t = e.constants.get(v)!;
      const alias = e.layerParamOf.get(v);
      if (alias) {
        e.buffers.set(v, { value: v, tensor: t, owner: alias.mod, attr: alias.attr, alias, kind: 'learned' });
        continue;
      }
      let owner: Mod;
      let attr: string;
      const name = e.projections.get(v) ?? v.name;
      if (PATH_NAME.test(name) && !e.modByPath.get(name)) {
        const parts = name.split('.');
        owner = mod(e, parts.slice(0, -1));
        if (owner.layer) owner = owner.parent ?? e.root;
        attr = parts[parts.length - 1]!;
      } else {
        owner = it.mod.layer ? (it.mod.parent ?? e.root) : it.mod;
        // Named after the op that made it, without the export's running number (`onnx::Add_2567` is `add`), so
        // that every instance of a block names its constants alike.
        attr = v.name.replace(/^onnx::/, '').replace(/^.*\//, '').replace(/(_output)?(_\d+)+$/, '') || 'constant';
      }
      if (owner.cellList || [...owner.children.keys()].every((k) => NUMERIC.test(k)) && owner.children.size > 0) owner = owner.parent ?? e.root;
      const projection = e.projections.has(v);
      const b: Buffer = { value: v, tensor: t, owner, attr, kind: projection ? 'learned' : bufferKind(v, t), ...(projection ? { transposed: true } : {}) };
      owner.buffers.push(b);
      e.buffers.set(v, b);
    }
  }
}

/** Ops through which a tensor is still the same values (a slice of a mask is the mask). */
const VIEWS = new Set(['msgraph.slice', 'mint.reshape', 'mint.squeeze', 'mint.unsqueeze', 'mint.permute', 'msgraph.identity', 'mint.broadcast_to']);
/** Uses that take no gradient: comparisons, a condition, a size. */
const NO_GRAD = new Set(['mint.eq', 'mint.lt', 'mint.gt', 'mint.le', 'mint.greater_equal', 'mint.logical_not', 'mint.logical_and', 'mint.logical_or', 'msgraph.shape', 'msgraph.size']);
/** Exporter constants up to this many elements are written in the code rather than stored. */
export const COMPUTED_LIMIT = 256;

/** What a constant is in the port (see Buffer.kind). */
function bufferKind(v: Value, t: Tensor): Buffer['kind'] {
  if (!PATH_NAME.test(v.name)) return t.dtype.kind === 'float' && t.size <= COMPUTED_LIMIT ? 'computed' : 'buffer';
  if (t.dtype.kind !== 'float') return 'buffer';
  // A state_dict tensor is learned when some use takes a gradient through it.
  const seen = new Set<Value>();
  const grads = (x: Value): boolean => {
    if (seen.has(x)) return false;
    seen.add(x);
    return x.uses.some(({ node, index }) => {
      if (NO_GRAD.has(node.op) || (node.op === 'mint.where' && index === 0)) return false;
      if (node.op === 'ops.cast' && node.outputs[0]?.type?.kind === 'tensor' && node.outputs[0].type.dtype?.kind !== 'float') return false;
      if (VIEWS.has(node.op) && index === 0) return node.outputs.some((o) => o && grads(o));
      return true;
    }) || !!x.graph?.outputs.includes(x);
  };
  return grads(v) ? 'learned' : 'buffer';
}

/** A constant rendered inline: one element, or a small integer vector. */
export function isLiteral(e: Emitter, v: Value): boolean {
  const t = e.constants.get(v);
  if (!t) return false;
  return t.size === 1 && t.dims.length <= 1 ? !t.isString : e.smallInt(v) && t.size <= 16;
}

export function analyseModules(e: Emitter, m: Mod): void {
  for (const c of m.children.values()) analyseModules(e, c);
  const sub: Item[] = [...m.items];
  for (const c of m.children.values()) sub.push(...c.subtree);
  sub.sort((a, b) => a.index - b.index);
  m.subtree = sub;
  const kids = [...m.children.keys()];
  m.cellList = kids.length > 0 && kids.every((k) => NUMERIC.test(k)) && m !== e.root && !m.layer;
  if (m === e.root || m.layer) return;
  if (m.cellList || sub.length === 0 || trivial(m, sub)) {
    m.flat = true;
    return;
  }
  const inSub = new Set(sub);
  const inputs = new Set<Value>();
  const outputs = new Set<Value>();
  const graphOutputs = new Set(e.model.graph.outputs);
  for (const it of sub) {
    const ins = it.kind === 'node' ? [...it.node.inputs, ...it.node.subgraphs().flatMap(outerRefs)] : [it.layer.input];
    for (const v of ins) {
      if (!v) continue;
      const p = e.producer.get(v);
      if (p && inSub.has(p)) continue;
      if (e.constants.has(v) && (isLiteral(e, v) || accessible(e, v, m))) continue;
      inputs.add(v);
    }
    const outs = it.kind === 'node' ? it.node.outputs : [it.layer.output];
    for (const o of outs) {
      if (!o) continue;
      if (graphOutputs.has(o) || (e.consumers.get(o) ?? []).some((c) => !inSub.has(c))) outputs.add(o);
    }
  }
  if (outputs.size === 0 || cyclic(e, sub, inSub)) {
    m.flat = true;
    return;
  }
  const order = (v: Value) => e.producer.get(v)?.index ?? -1 - e.model.graph.inputs.indexOf(v);
  // Arguments in order of first use inside the module, so that instances of one block agree.
  const firstUse = new Map<Value, number>();
  for (const it of sub) {
    const ins = it.kind === 'node' ? [...it.node.inputs, ...it.node.subgraphs().flatMap(outerRefs)] : [it.layer.input];
    for (const v of ins) if (v && inputs.has(v) && !firstUse.has(v)) firstUse.set(v, it.index);
  }
  m.inputs = [...inputs].sort((a, b) => firstUse.get(a)! - firstUse.get(b)! || order(a) - order(b));
  m.outputs = [...outputs].sort((a, b) => order(a) - order(b));
}

/**
 * A module that is one stateless op (torch's ReLU, MaxPool2d, Flatten, an activation's scale): a hand port calls
 * the function in its parent rather than writing a class for it.
 */
function trivial(m: Mod, sub: Item[]): boolean {
  return sub.length === 1 && sub[0]!.kind === 'node' && m.buffers.length === 0 && [...m.children.values()].every((c) => c.flat && !c.buffers.length);
}

/** True when some item outside the module both depends on it and feeds it. */
export function cyclic(e: Emitter, sub: Item[], inSub: Set<Item>): boolean {
  const max = sub[sub.length - 1]!.index;
  const seen = new Set<Item>();
  const queue: Item[] = [];
  const outsOf = (it: Item) => (it.kind === 'node' ? it.node.outputs : [it.layer.output]);
  for (const it of sub) for (const o of outsOf(it)) if (o) for (const c of e.consumers.get(o) ?? []) if (!inSub.has(c) && !seen.has(c)) {
    seen.add(c);
    queue.push(c);
  }
  while (queue.length) {
    const it = queue.pop()!;
    if (it.index > max) continue;
    for (const o of outsOf(it)) if (o) for (const c of e.consumers.get(o) ?? []) {
      if (inSub.has(c)) return true;
      if (!seen.has(c)) {
        seen.add(c);
        queue.push(c);
      }
    }
  }
  return false;
}

export function accessible(e: Emitter, v: Value, m: Mod): boolean {
  const b = e.buffers.get(v);
  if (!b) return false;
  return isWithin(b.owner, m);
}
