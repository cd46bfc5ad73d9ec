import { MsgraphError } from '../../errors.js';
import type { AttributeP, FunctionP, GraphP, ModelP, NodeP } from './proto.js';

/** Metadata key on inlined nodes naming the function they came from (`domain::name`) and the calling node. */
export const INLINED_FROM = 'msgraph.inlined_from';
export const INLINED_CALL = 'msgraph.inlined_call';

const MAX_INLINE_DEPTH = 32;

const key = (domain: string, name: string, overload: string) => `${domain}\u0000${name}\u0000${overload}`;

export interface InlineResult {
  /** Domains of the functions that were inlined. */
  inlinedDomains: Set<string>;
  /** Functions no node called. */
  unused: FunctionP[];
}

/**
 * Replaces every call of a model-local function by the function's body, in the main graph and in subgraphs.
 * Internal value names get a unique prefix; formal inputs/outputs become the caller's names; attribute references
 * take the caller's attribute or the function's default. Function opset imports are merged into the model's.
 */
export function inlineFunctions(model: ModelP, file: string): InlineResult {
  const fns = new Map<string, FunctionP>();
  for (const f of model.functions) fns.set(key(f.domain, f.name, f.overload), f);
  const result: InlineResult = { inlinedDomains: new Set(), unused: [] };
  if (fns.size === 0 || !model.graph) return result;
  const used = new Set<FunctionP>();
  const taken = collectNames(model.graph);
  let counter = 0;
  const fresh = (base: string) => {
    let n: string;
    do n = `${base}__${counter++}`;
    while (taken.has(n));
    taken.add(n);
    return n;
  };

  const opsets = new Map(model.opsetImport.map((o) => [o.domain === 'ai.onnx' ? '' : o.domain, o.version]));
  const mergeOpsets = (f: FunctionP) => {
    for (const o of f.opsetImport) {
      const d = o.domain === 'ai.onnx' ? '' : o.domain;
      const have = opsets.get(d);
      if (have === undefined) {
        opsets.set(d, o.version);
        model.opsetImport.push({ domain: o.domain, version: o.version });
      } else if (have !== o.version) {
        throw new MsgraphError('unsupported', `function ${f.domain}::${f.name} imports ${d || 'ai.onnx'} version ${o.version} but the model uses ${have}`, { file });
      }
    }
  };

  const expandNodes = (nodes: NodeP[], depth: number, stack: string[]): NodeP[] => {
    const out: NodeP[] = [];
    for (const n of nodes) {
      for (const a of n.attribute) {
        if (a.g) a.g.node = expandNodes(a.g.node, depth, stack);
        for (const g of a.graphs) g.node = expandNodes(g.node, depth, stack);
      }
      const f = fns.get(key(n.domain, n.opType, n.overload));
      if (!f) {
        out.push(n);
        continue;
      }
      const k = `${f.domain}::${f.name}`;
      if (depth >= MAX_INLINE_DEPTH || stack.includes(k)) {
        throw new MsgraphError('unsupported', `function ${k} calls itself (recursion is not valid ONNX)`, { file, node: n.name });
      }
      used.add(f);
      result.inlinedDomains.add(f.domain);
      mergeOpsets(f);
      const body = instantiate(f, n, fresh);
      out.push(...expandNodes(body, depth + 1, [...stack, k]));
    }
    return out;
  };
  model.graph.node = expandNodes(model.graph.node, 0, []);
  result.unused = model.functions.filter((f) => !used.has(f));
  return result;
}

function instantiate(f: FunctionP, call: NodeP, fresh: (b: string) => string): NodeP[] {
  const prefix = fresh(call.name || f.name);
  const rename = new Map<string, string>();
  f.input.forEach((formal, i) => rename.set(formal, call.input[i] ?? ''));
  f.output.forEach((formal, i) => {
    const actual = call.output[i];
    rename.set(formal, actual ? actual : `${prefix}/${formal}`);
  });
  const callAttrs = new Map(call.attribute.map((a) => [a.name, a]));
  const defaults = new Map(f.attributeProto.map((a) => [a.name, a]));
  const mapName = (s: string) => {
    if (s === '') return '';
    let r = rename.get(s);
    if (r === undefined) {
      r = `${prefix}/${s}`;
      rename.set(s, r);
    }
    return r;
  };
  const fnLabel = `${f.domain}::${f.name}`;
  const cloneNode = (n: NodeP, top: boolean): NodeP => {
    const attrs: AttributeP[] = [];
    for (const a of n.attribute) {
      if (a.refAttrName) {
        const src = callAttrs.get(a.refAttrName) ?? defaults.get(a.refAttrName);
        if (src) attrs.push({ ...src, name: a.name, refAttrName: '' });
        continue;
      }
      attrs.push({
        ...a,
        g: a.g ? cloneGraph(a.g) : undefined,
        graphs: a.graphs.map(cloneGraph),
      });
    }
    const metadata = [...n.metadata];
    if (top) metadata.push({ key: INLINED_FROM, value: fnLabel }, { key: INLINED_CALL, value: call.name });
    return {
      ...n,
      name: `${prefix}/${n.name || n.opType}`,
      input: n.input.map(mapName),
      output: n.output.map(mapName),
      attribute: attrs,
      metadata,
    };
  };
  const cloneGraph = (g: GraphP): GraphP => ({
    ...g,
    node: g.node.map((n) => cloneNode(n, false)),
    input: g.input.map((v) => ({ ...v, name: mapName(v.name) })),
    output: g.output.map((v) => ({ ...v, name: mapName(v.name) })),
    valueInfo: g.valueInfo.map((v) => ({ ...v, name: mapName(v.name) })),
    initializer: g.initializer.map((t) => ({ ...t, name: mapName(t.name) })),
  });
  return f.node.map((n) => cloneNode(n, true));
}

function collectNames(g: GraphP, into = new Set<string>()): Set<string> {
  for (const v of [...g.input, ...g.output, ...g.valueInfo]) into.add(v.name);
  for (const t of g.initializer) into.add(t.name);
  for (const n of g.node) {
    for (const s of [...n.input, ...n.output]) into.add(s);
    into.add(n.name);
    for (const a of n.attribute) {
      if (a.g) collectNames(a.g, into);
      for (const sg of a.graphs) collectNames(sg, into);
    }
  }
  return into;
}
