import { MsgraphError } from '../../errors.js';
import { Graph } from '../../ir/graph.js';
import { Model } from '../../ir/model.js';
import { Node } from '../../ir/node.js';
import { Value } from '../../ir/value.js';
import type { Attribute } from '../../ir/attribute.js';
import type { Tensor } from '../../ir/tensor.js';
import { isValidUtf8 } from './protobuf.js';
import { AttrType, type AttributeP, type GraphP, type ModelP, type NodeP, type ValueInfoP } from './proto.js';
import { inlineFunctions } from './inline.js';
import { densify, sparseFromP, tensorFromP, typeFromP, type ExternalDataResolver } from './tensors.js';

export interface ImportOptions {
  /** File name used in error messages. */
  file?: string;
  external: ExternalDataResolver;
}

/** Scope chain for name resolution: subgraphs see the values of enclosing graphs. */
class Scope {
  readonly values = new Map<string, Value>();
  constructor(readonly parent: Scope | null) {}
  lookup(name: string): Value | undefined {
    return this.values.get(name) ?? this.parent?.lookup(name);
  }
  has(name: string): boolean {
    return this.values.has(name) || (this.parent?.has(name) ?? false);
  }
}

/** Builds the IR from a decoded ModelProto: inlines local functions, resolves names, orders nodes topologically. */
export function importModel(p: ModelP, opts: ImportOptions): Model {
  try {
    return importModelInner(p, opts);
  } catch (e) {
    // Errors raised below the graph level (tensors, types, external data) learn the file here.
    if (e instanceof MsgraphError && !e.file) e.file = opts.file ?? '<memory>';
    throw e;
  }
}

function importModelInner(p: ModelP, opts: ImportOptions): Model {
  const file = opts.file ?? '<memory>';
  if (!p.graph) throw new MsgraphError('model', 'the file holds no graph (is it an ONNX model?)', { file });
  const inlined = inlineFunctions(p, file);
  const ctx = new Ctx(file, opts.external);
  const graph = ctx.graph(p.graph, new Scope(null));

  const opsets = new Map<string, number>();
  for (const o of p.opsetImport) opsets.set(o.domain === 'ai.onnx' ? '' : o.domain, o.version);
  if (inlined.inlinedDomains.size > 0) {
    const usedDomains = new Set<string>();
    for (const n of graph.allNodes()) usedDomains.add(n.domain);
    for (const f of inlined.unused) usedDomains.add(f.domain);
    for (const d of inlined.inlinedDomains) if (!usedDomains.has(d)) opsets.delete(d);
  }
  const model = new Model(graph, p.irVersion, opsets);
  model.producerName = p.producerName;
  model.producerVersion = p.producerVersion;
  model.domain = p.domain;
  model.modelVersion = p.modelVersion;
  model.docString = p.docString;
  for (const e of p.metadata) model.metadata.set(e.key, e.value);
  model.trainingInfo = p.trainingInfo;
  model.deviceConfigurations = p.configuration;
  model.unusedFunctions = inlined.unused.map((f) => f.bytes);
  return model;
}

class Ctx {
  constructor(
    readonly file: string,
    readonly ext: ExternalDataResolver,
  ) {}

  err(code: 'model' | 'unsupported', msg: string, node?: NodeP): MsgraphError {
    return new MsgraphError(code, msg, { file: this.file, node: node ? node.name || node.opType : undefined });
  }

  graph(g: GraphP, scope: Scope): Graph {
    const graph = new Graph(g.name);
    graph.docString = g.docString;
    for (const e of g.metadata) graph.metadata.set(e.key, e.value);
    graph.quantizationAnnotations = g.quantizationAnnotation;
    const local = scope.values;
    const where = g.name ? ` in graph ${JSON.stringify(g.name)}` : '';

    for (const vi of g.input) {
      if (local.has(vi.name)) throw this.err('model', `duplicate graph input ${JSON.stringify(vi.name)}${where}`);
      const v = this.valueFromInfo(vi);
      graph.addInput(v);
      local.set(vi.name, v);
    }
    const inputNames = new Set(g.input.map((v) => v.name));
    const seenInit = new Set<string>();
    const addInit = (name: string, make: () => Tensor) => {
      if (seenInit.has(name)) throw this.err('model', `duplicate initializer ${JSON.stringify(name)}${where}`);
      seenInit.add(name);
      const tensor = make();
      // An initializer that is also a graph input (IR < 4 style) is an overridable default: same value.
      let v = inputNames.has(name) ? local.get(name)! : undefined;
      if (!v) {
        v = new Value(name, { kind: 'tensor', dtype: tensor.dtype, shape: [...tensor.dims] });
        local.set(name, v);
      }
      graph.addInitializer(v, tensor);
    };
    for (const t of g.initializer) addInit(t.name, () => tensorFromP(t, this.ext));
    for (const s of g.sparseInitializer) {
      const name = s.values?.name ?? '';
      addInit(name, () => densify(sparseFromP(s, this.ext, `initializer ${JSON.stringify(name)}`), name));
    }

    const order = this.order(g, scope);
    const types = new Map<string, ValueInfoP>();
    for (const vi of g.valueInfo) types.set(vi.name, vi);
    for (const vi of g.output) types.set(vi.name, vi);

    for (const np of order) {
      const inputs = np.input.map((name, i) => {
        if (name === '') return null;
        const v = scope.lookup(name);
        if (!v) throw this.err('model', `input ${i} reads undefined value ${JSON.stringify(name)}`, np);
        return v;
      });
      const outputs = np.output.map((name) => {
        if (name === '') return null;
        const vi = types.get(name);
        const v = vi ? this.valueFromInfo(vi) : new Value(name);
        local.set(name, v);
        return v;
      });
      const attrs: [string, Attribute][] = np.attribute.map((a) => [a.name, this.attribute(a, np, scope)]);
      const node = new Node({ op: np.opType, domain: np.domain === 'ai.onnx' ? '' : np.domain, name: np.name, overload: np.overload, inputs, outputs, attrs });
      node.docString = np.docString;
      for (const e of np.metadata) node.metadata.set(e.key, e.value);
      if (np.deviceConfigurations.length) throw this.err('unsupported', 'node device_configurations (IR 11 multi-device) are not supported', np);
      graph.append(node);
    }

    for (const vi of g.output) {
      const v = scope.lookup(vi.name);
      if (!v) throw this.err('model', `graph output ${JSON.stringify(vi.name)}${where} is never produced`);
      if (!v.producer && vi.type && !v.type) v.type = typeFromP(vi.type, `output ${JSON.stringify(vi.name)}`);
      graph.outputs.push(v);
    }
    return graph;
  }

  private valueFromInfo(vi: ValueInfoP): Value {
    const v = new Value(vi.name, typeFromP(vi.type, `value ${JSON.stringify(vi.name)}`));
    v.docString = vi.docString;
    for (const e of vi.metadata) v.metadata.set(e.key, e.value);
    return v;
  }

  /**
   * Topological order of the graph's nodes (the file order when it already is one). Dependencies include values
   * that subgraphs read from this graph. Reports undefined values, duplicate definitions and cycles.
   */
  private order(g: GraphP, scope: Scope): NodeP[] {
    const producer = new Map<string, number>();
    const where = g.name ? ` in graph ${JSON.stringify(g.name)}` : '';
    g.node.forEach((n, i) => {
      for (const o of n.output) {
        if (o === '') continue;
        const prev = producer.get(o);
        if (prev !== undefined) throw this.err('model', `value ${JSON.stringify(o)} is produced twice${where} (also by node ${JSON.stringify(g.node[prev]!.name || g.node[prev]!.opType)})`, n);
        if (scope.values.has(o)) throw this.err('model', `node output ${JSON.stringify(o)} redefines a graph input or initializer${where}`, n);
        producer.set(o, i);
      }
    });
    const deps: number[][] = g.node.map((n) => {
      const names = new Set(n.input.filter((s) => s !== ''));
      for (const a of n.attribute) for (const sg of a.g ? [a.g, ...a.graphs] : a.graphs) freeNames(sg, names);
      const d: number[] = [];
      for (const name of names) {
        const p = producer.get(name);
        if (p !== undefined) d.push(p);
        else if (!scope.has(name)) {
          if (n.input.includes(name)) throw this.err('model', `input ${n.input.indexOf(name)} reads undefined value ${JSON.stringify(name)}`, n);
          throw this.err('model', `a subgraph reads undefined value ${JSON.stringify(name)}`, n);
        }
      }
      return d;
    });
    if (deps.every((d, i) => d.every((p) => p < i))) return g.node;
    // Kahn's algorithm, taking the lowest file index first so the order stays close to the file's.
    const indeg = deps.map((d) => d.length);
    const users: number[][] = g.node.map(() => []);
    deps.forEach((d, i) => d.forEach((p) => users[p]!.push(i)));
    const ready = new MinHeap();
    indeg.forEach((k, i) => k === 0 && ready.push(i));
    const out: NodeP[] = [];
    while (ready.size > 0) {
      const i = ready.pop();
      out.push(g.node[i]!);
      for (const u of users[i]!) if (--indeg[u]! === 0) ready.push(u);
    }
    if (out.length < g.node.length) {
      const stuck = g.node.find((_, i) => indeg[i]! > 0)!;
      throw this.err('model', `the graph has a cycle${where}: ${g.node.length - out.length} nodes depend on each other`, stuck);
    }
    return out;
  }

  private attribute(a: AttributeP, node: NodeP, scope: Scope): Attribute {
    if (a.refAttrName) throw this.err('model', `attribute ${JSON.stringify(a.name)} refers to ${JSON.stringify(a.refAttrName)} outside a function`, node);
    const what = `attribute ${JSON.stringify(a.name)}`;
    const doc = a.docString ? { docString: a.docString } : {};
    const type = a.type || inferAttrType(a);
    const str = (b: Uint8Array) => new TextDecoder().decode(b);
    switch (type) {
      case AttrType.FLOAT: return { type: 'float', value: a.f ?? 0, ...doc };
      case AttrType.INT: return { type: 'int', value: a.i ?? 0, ...doc };
      case AttrType.STRING: {
        const s = a.s ?? new Uint8Array();
        return isValidUtf8(s) ? { type: 'string', value: str(s), ...doc } : { type: 'string', value: str(s), raw: s, ...doc };
      }
      case AttrType.TENSOR:
        if (!a.t) throw this.err('model', `${what} of type TENSOR holds no tensor`, node);
        return { type: 'tensor', value: tensorFromP(a.t, this.ext), ...doc };
      case AttrType.GRAPH:
        if (!a.g) throw this.err('model', `${what} of type GRAPH holds no graph`, node);
        return { type: 'graph', value: this.graph(a.g, new Scope(scope)), ...doc };
      case AttrType.SPARSE_TENSOR:
        if (!a.sparseTensor) throw this.err('model', `${what} of type SPARSE_TENSOR holds no tensor`, node);
        return { type: 'sparse_tensor', value: sparseFromP(a.sparseTensor, this.ext, what), ...doc };
      case AttrType.TYPE_PROTO: return { type: 'type_proto', value: typeFromP(a.tp ?? null, what), ...doc };
      case AttrType.FLOATS: return { type: 'floats', value: a.floats, ...doc };
      case AttrType.INTS: return { type: 'ints', value: a.ints, ...doc };
      case AttrType.STRINGS: {
        const raw = a.strings.every(isValidUtf8) ? {} : { raw: a.strings };
        return { type: 'strings', value: a.strings.map(str), ...raw, ...doc };
      }
      case AttrType.TENSORS: return { type: 'tensors', value: a.tensors.map((t) => tensorFromP(t, this.ext)), ...doc };
      case AttrType.GRAPHS: return { type: 'graphs', value: a.graphs.map((sg) => this.graph(sg, new Scope(scope))), ...doc };
      case AttrType.SPARSE_TENSORS: return { type: 'sparse_tensors', value: a.sparseTensors.map((s) => sparseFromP(s, this.ext, what)), ...doc };
      case AttrType.TYPE_PROTOS: return { type: 'type_protos', value: a.typeProtos.map((t) => typeFromP(t, what)), ...doc };
      default:
        throw this.err('model', `${what} has unknown type ${a.type}`, node);
    }
  }
}

/** IR < 3 files omit AttributeProto.type; infer it from the field that is set. */
function inferAttrType(a: AttributeP): number {
  if (a.f !== undefined) return AttrType.FLOAT;
  if (a.i !== undefined) return AttrType.INT;
  if (a.s !== undefined) return AttrType.STRING;
  if (a.t) return AttrType.TENSOR;
  if (a.g) return AttrType.GRAPH;
  if (a.sparseTensor) return AttrType.SPARSE_TENSOR;
  if (a.tp) return AttrType.TYPE_PROTO;
  if (a.floats.length) return AttrType.FLOATS;
  if (a.ints.length) return AttrType.INTS;
  if (a.strings.length) return AttrType.STRINGS;
  if (a.tensors.length) return AttrType.TENSORS;
  if (a.graphs.length) return AttrType.GRAPHS;
  if (a.sparseTensors.length) return AttrType.SPARSE_TENSORS;
  if (a.typeProtos.length) return AttrType.TYPE_PROTOS;
  return AttrType.UNDEFINED;
}

/** Names a subgraph reads from enclosing scopes (not defined inside it). */
function freeNames(g: GraphP, into: Set<string>): void {
  const defined = new Set<string>();
  for (const v of g.input) defined.add(v.name);
  for (const t of g.initializer) defined.add(t.name);
  for (const s of g.sparseInitializer) if (s.values) defined.add(s.values.name);
  for (const n of g.node) for (const o of n.output) defined.add(o);
  const inner = new Set<string>();
  for (const n of g.node) {
    for (const i of n.input) if (i !== '') inner.add(i);
    for (const a of n.attribute) for (const sg of a.g ? [a.g, ...a.graphs] : a.graphs) freeNames(sg, inner);
  }
  for (const o of g.output) inner.add(o.name);
  for (const name of inner) if (!defined.has(name)) into.add(name);
}

class MinHeap {
  private readonly a: number[] = [];
  get size(): number {
    return this.a.length;
  }
  push(x: number): void {
    const a = this.a;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]! <= x) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = x;
  }
  pop(): number {
    const a = this.a;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= a.length) break;
        const c = l + 1 < a.length && a[l + 1]! < a[l]! ? l + 1 : l;
        if (a[c]! >= last) break;
        a[i] = a[c]!;
        i = c;
      }
      a[i] = last;
    }
    return top;
  }
}
