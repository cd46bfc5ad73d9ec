/**
 * The MindSpore backend: a model in the mint dialect becomes a Python package a user would have written by hand.
 *
 * 1. Layers (`mint.nn.Conv2d`, `Linear`, `GroupNorm`, ...) are recognised and placed at their module path.
 * 2. The module tree comes from the model's own names; each module whose nodes can be collapsed into one call
 *    becomes an `nn.Cell` with its own `construct()`, the others stay containers (their layers keep their names)
 *    and their nodes are emitted in the parent. Numbered children become `nn.CellList`s.
 * 3. Shape arithmetic stays on the host as Python ints and tuples read from `x.shape`, never frozen numbers unless
 *    the dim is static.
 * 4. Classes with identical text are emitted once.
 *
 * This file holds the pipeline and construct() bodies; tree.ts builds the module tree, classes.ts writes the class
 * text, items.ts one statement per item, statements.ts the If/Loop statements and the op context, ops*.ts one
 * expression per op.
 */
import type { Model } from '../../ir/model.js';
import type { Graph } from '../../ir/graph.js';
import type { Node } from '../../ir/node.js';
import type { Dim } from '../../ir/shape.js';
import { Tensor, type Chunk } from '../../ir/tensor.js';
import type { Value } from '../../ir/value.js';
import { dtypeFromName } from '../../ir/dtype.js';
import { toMint } from '../../dialect/to-mint.js';
import { MINT_DOMAIN, onnxOpOf } from '../../dialect/names.js';
import { inferShapes } from '../../dialect/ops/infer.js';
import type { KnownValue } from '../../dialect/ops/types.js';
import { findLayers, fmt, projectionWeights, type Layer } from './layers.js';
import { findHost } from './ops-host.js';
import { loopChains } from './loops.js';
import { analyseModules, buildTree, placeBuffers } from './tree.js';
import { access, emit } from './classes.js';
import { HELPERS } from './helpers.js';
import { CodeWriter, Namer } from './python.js';
import { ApiChecker, DEFAULT_MS_VERSION } from './api.js';
import { emitItem } from './items.js';
import { type Buffer, type Item, Mod, constantTensor, dtypeName, isWithin, literalHost, literals, outerRefs, shapeOf } from './cells.js';
import type { NearMiss } from '../../passes/pass.js';
import type { FreeDimsReport } from '../../passes/common/free-dims.js';
import { InferenceCache, runPasses } from '../../passes/manager.js';
import { MINDSPORE_PIPELINE } from '../../passes/registry.js';
import { Profile } from '../../util/profile.js';

type AttentionReport = { fused: number; nearMisses: NearMiss[] };
type ActivationReport = Record<'silu' | 'gelu' | 'hardswish' | 'hardsigmoid', number>;

export interface MindSporeOptions {
  msVersion?: string;
  attention?: 'math' | 'flash';
  source?: string; // the source file's name, for the docstring
  className?: string; // the top-level Cell's class name
  profile?: Profile; // records the emitter's phases
  dtype?: 'float32' | 'float16' | 'bfloat16'; // weights and activations (half: the half-precision pass)
  dims?: Record<string, (string | number)[]>; // --dim: per input, free dims by name, fixed ones by number
  /** The dialect passes to run before emitting (default: MINDSPORE_PIPELINE). */
  passes?: readonly string[];
  printAfter?: string[]; // pass names after which `onPrint` receives the model
  onPrint?: (pass: string, model: Model) => void;
  verifyEach?: boolean; // every pass verified (tests)
}

export interface ParamRecord {
  /** Cell parameter path (`down_blocks.0.resnets.0.conv1.weight`). */
  name: string;
  source: string;
  dims: number[];
  dtype: string;
  nbytes: number;
  /** The bytes (or their source, to stream), read or computed on each call: never all in memory; see WeightEntry. */
  load: (reuse?: boolean) => Chunk;
  transform?: string;
  kind: 'layer' | 'constant';
}
export interface Fallback { node: string; op: string; reason: string }

export interface EmitResult {
  code: string;
  params: ParamRecord[];
  fallbacks: Fallback[];
  /** ONNX op -> what it became (`mint.nn.Conv2d`, `mint.matmul`, `host`, `fallback`, ...) -> count. */
  mapping: Map<string, Map<string, number>>;
  warnings: string[];
  /** Attention blocks fused into the helper, and near-misses. */
  attention: AttentionReport;
  activations: ActivationReport;
  groupNorms: number;
  /** LayerNorms fused from their decomposed form. */
  layerNorms: number;
  geglus: number;
  /** Fusion candidates that did not fuse, and why. */
  nearMisses: { node: string; reason: string }[];
  /** Every count the fusion and fold passes reported, summed by kind (`attention`, `rotary_embedding`, ...). */
  fusionCounts: Record<string, number>;
  /** Which input dims are free and what stays fixed (the free-dims pass; null when it did not run). */
  sizes: FreeDimsReport | null;
  classes: string[];
  msVersion: string;
  topClass: string;
  inputs: { name: string; pyName: string; dtype: string | null; shape: Dim[] | null }[];
  outputs: { name: string; dtype: string | null; shape: Dim[] | null }[];
}

export function emitMindSpore(model: Model, opts: MindSporeOptions = {}): EmitResult {
  return new Emitter(model, opts).run();
}

/** @internal The emitter's state, shared with tree.ts (module tree), classes.ts (class text) and statements.ts. */
export class Emitter {
  readonly msVersion: string;
  readonly api: ApiChecker;
  readonly constants = new Map<Value, Tensor>();
  known = new Map<Value, KnownValue>();
  readonly host = new Set<Value>();
  readonly producer = new Map<Value, Item>();
  readonly consumers = new Map<Value, Item[]>();
  readonly items: Item[] = [];
  readonly root = new Mod('', [], null);
  readonly modByPath = new Map<string, Mod>([['', this.root]]);
  readonly buffers = new Map<Value, Buffer>();
  /** Weights stored transposed in the export that are parameters under these state_dict names (layers.ts). */
  projections = new Map<Value, string>();
  readonly layerParamOf = new Map<Value, { mod: Mod; attr: string }>();
  readonly helpersUsed = new Set<string>();
  readonly globals = Namer.module();
  readonly fallbacks: Fallback[] = [];
  readonly mapping = new Map<string, Map<string, number>>();
  readonly warnings = new Set<string>();
  opset = 17;
  dead = new Set<Graph>();
  attention: AttentionReport = { fused: 0, nearMisses: [] };
  activations: ActivationReport = { silu: 0, gelu: 0, hardswish: 0, hardsigmoid: 0 };
  groupNorms = 0;
  layerNorms = 0;
  geglus = 0;
  nearMisses: { node: string; reason: string }[] = [];
  fusionCounts: Record<string, number> = {};
  sizes: FreeDimsReport | null = null;

  constructor(readonly model: Model, readonly opts: MindSporeOptions) {
    this.msVersion = opts.msVersion ?? DEFAULT_MS_VERSION;
    this.api = new ApiChecker(this.msVersion);
    for (const h of Object.keys(HELPERS)) this.globals.reserve(h);
    this.globals.reserve('scaled_dot_product_attention');
    this.globals.reserve('ATTENTION_BACKEND');
  }

  run(): EmitResult {
    const model = this.model;
    const prof = this.opts.profile ?? new Profile(false);
    if (!model.opsets.has(MINT_DOMAIN)) prof.run('to the mint dialect', () => toMint(model));
    this.opset = model.onnxOpset;
    const inference = new InferenceCache(model, prof.run('shape inference', () => inferShapes(model)));
    const o = this.opts;
    // --dtype: the half-precision pass after the fusions (before module-contracts), whatever the list.
    const passes = [...(o.passes ?? MINDSPORE_PIPELINE)];
    if (o.dtype && o.dtype !== 'float32' && !passes.includes('half-precision')) passes.splice(Math.max(0, passes.indexOf('module-contracts')) || passes.length, 0, 'half-precision');
    const fusions = runPasses(model, passes, { profile: prof, printAfter: o.printAfter, onPrint: o.onPrint, verifyEach: o.verifyEach, dtype: o.dtype, dims: o.dims, inference });
    const stat = (k: string) => fusions.reduce((s, r) => s + (r.stats[k] ?? 0), 0);
    this.attention = { fused: stat('attention'), nearMisses: fusions.find((r) => r.name === 'fuse-attention')?.nearMisses ?? [] };
    this.activations = { silu: stat('silu'), gelu: stat('gelu'), hardswish: stat('hardswish'), hardsigmoid: stat('hardsigmoid') };
    this.groupNorms = stat('group_norm');
    this.layerNorms = stat('layer_norm');
    this.geglus = stat('geglu');
    this.nearMisses = fusions.flatMap((r) => r.nearMisses ?? []);
    this.sizes = (fusions.find((r) => r.name === 'free-dims')?.report as FreeDimsReport | undefined) ?? null;
    for (const r of fusions.filter((p) => /^(fuse|fold)-/.test(p.name))) for (const [k, v] of Object.entries(r.stats)) this.fusionCounts[k] = (this.fusionCounts[k] ?? 0) + v;
    const inferred = prof.run('shape inference (fused)', () => inferShapes(model));
    const itemsStart = performance.now();
    this.known = inferred.known;
    this.dead = inferred.dead;
    const g = model.graph;
    const subgraphs: Graph[] = [];
    const collect = (graph: Graph) => {
      for (const n of graph) for (const sg of n.subgraphs()) {
        subgraphs.push(sg);
        collect(sg);
      }
    };
    collect(g);
    for (const graph of [g, ...subgraphs]) for (const v of graph.initializers) if (v.const) this.constants.set(v, v.const);
    for (const n of [...g, ...subgraphs.flatMap((sg) => [...sg])]) {
      const out = n.outputs[0];
      if (!out) continue;
      const op = this.onnxOp(n);
      if (op === 'Constant') {
        const t = constantTensor(n);
        if (t) this.constants.set(out, t);
        continue;
      }
      // Exporters alias shared initializers through Identity (the alias carries the state_dict name) and reshape
      // weights with Unsqueeze/Reshape; those are constants too (same bytes, new dims).
      const data = n.inputs[0] ? this.constants.get(n.inputs[0]) : undefined;
      if (!data || n.outputs.length !== 1 || !n.inputs.slice(1).every((v) => !v || this.constants.has(v))) continue;
      const shape = shapeOf(out);
      if (op === 'Identity') this.constants.set(out, data);
      else if (['Unsqueeze', 'Squeeze', 'Reshape', 'Flatten'].includes(op) && shape && shape.every((d) => typeof d === 'number')) {
        this.constants.set(out, Tensor.fromBytes(data.dtype, shape as number[], data.bytes, out.name));
      }
    }
    const nodes = [...g].filter((n) => !this.constants.has(n.outputs[0]!));
    const constOf = (v: Value | null | undefined) => (v ? this.constants.get(v) ?? null : null);
    const layers = findLayers(nodes, constOf, { versionAtLeast: (v) => this.api.atLeast(v), available: (api) => this.api.has(api) });
    this.projections = projectionWeights(nodes, constOf);
    // Live items: walk back from the outputs through layers (absorbed nodes are not traversed).
    const layerOfNode = new Map<Node, Layer>();
    for (const l of layers) for (const n of l.nodes) layerOfNode.set(n, l);
    const liveNodes = new Set<Node>();
    const liveLayers = new Set<Layer>();
    const stack = [...g.outputs];
    const seen = new Set<Value>();
    while (stack.length) {
      const v = stack.pop()!;
      if (seen.has(v)) continue;
      seen.add(v);
      const p = v.producer;
      if (!p || this.constants.has(v)) continue;
      const l = layerOfNode.get(p);
      if (l) {
        if (l.output !== v) throw new Error(`internal: layer ${l.cls} exposes an inner value ${v.name}`);
        if (!liveLayers.has(l)) {
          liveLayers.add(l);
          stack.push(l.input);
        }
        continue;
      }
      if (!liveNodes.has(p)) {
        liveNodes.add(p);
        for (const i of p.inputs) if (i) stack.push(i);
        for (const sg of p.subgraphs()) for (const i of outerRefs(sg)) stack.push(i);
      }
    }
    // Items in graph order; a layer sits at its first node.
    let index = 0;
    const placed = new Set<Layer>();
    for (const n of nodes) {
      const l = layerOfNode.get(n);
      if (l) {
        if (!liveLayers.has(l) || placed.has(l)) continue;
        placed.add(l);
        const it: Item = { kind: 'layer', layer: l, index: index++, mod: this.root };
        this.items.push(it);
        this.producer.set(l.output, it);
        this.addUse(l.input, it);
        continue;
      }
      if (!liveNodes.has(n)) continue;
      const it: Item = { kind: 'node', node: n, index: index++, mod: this.root };
      this.items.push(it);
      for (const o of n.outputs) if (o) this.producer.set(o, it);
      for (const i of n.inputs) if (i) this.addUse(i, it);
      for (const sg of n.subgraphs()) for (const i of outerRefs(sg)) this.addUse(i, it);
    }
    findHost(this, this.items.filter((it) => it.kind === 'node').map((it) => (it as { node: Node }).node));
    for (const sg of subgraphs) findHost(this, [...sg].filter((n) => !n.outputs[0] || !this.constants.has(n.outputs[0])));
    prof.add('layers and statements', performance.now() - itemsStart);
    prof.run('module tree', () => (buildTree(this), placeBuffers(this), analyseModules(this, this.root)));
    return prof.run('Python code', () => emit(this));
  }

  addUse(v: Value, it: Item): void {
    const list = this.consumers.get(v) ?? [];
    if (!list.includes(it)) list.push(it);
    this.consumers.set(v, list);
  }

  onnxOp(n: Node): string {
    if (n.domain === MINT_DOMAIN) {
      if (n.op === 'ops.cast') return 'Cast';
      return onnxOpOf(n.op, this.opset) ?? n.op;
    }
    return n.domain ? `${n.domain}.${n.op}` : n.op;
  }

  // ---- host (shape arithmetic) values --------------------------------------------------------------------------

  smallInt(v: Value): boolean {
    const t = this.constants.get(v);
    return !!t && t.size <= 64 && t.dims.length <= 1 && /int|bool/.test(t.dtype.name);
  }

  // ---- module tree --------------------------------------------------------------------------------------------

  // ---- emission -----------------------------------------------------------------------------------------------

  readonly classTexts = new Map<string, { body: string; mods: Mod[] }>();
  readonly inputNames = new Map<Value, string>();

  // ---- construct ----------------------------------------------------------------------------------------------

  construct(m: Mod, w: CodeWriter): void {
    const scope = new Namer(['self', ...this.globalNames()]);
    const expr = new Map<Value, string>();
    const params: string[] = [];
    if (m === this.root) {
      for (const v of this.model.graph.inputs) {
        if (v.const) continue;
        const name = scope.take(v.name, 'input');
        this.inputNames.set(v, name);
        expr.set(v, name);
        params.push(name);
      }
    } else {
      // Positional names here; the class writer names them once it knows every instance (classes.ts).
      m.inputs.forEach((v, i) => {
        const name = scope.take(m.inputs.length === 1 ? 'x' : `x${i}`, 'x');
        expr.set(v, name);
        params.push(name);
      });
    }
    w.line(`def construct(self, ${params.join(', ')}):`);
    w.indent(() => {
      const body = new CodeWriter();
      this.constructBody(m, scope, expr, body);
      const text = body.toString().replace(/\n$/, '');
      for (const l of loopChains(text.split('\n'), m)) if (l) w.line(l);
      const outs = m === this.root ? this.model.graph.outputs : m.outputs;
      const rendered = outs.map((o) => this.ref(o, m, expr, 'tensor'));
      w.line(`return ${rendered.join(', ')}`);
    });
  }

  globalNames(): string[] {
    return [...Object.keys(HELPERS), 'scaled_dot_product_attention', 'ATTENTION_BACKEND', 'ms', 'mint', 'nn', 'ops'];
  }

  /** Statements of one construct(): direct items and calls of child Cells, in dependency order. */
  constructBody(m: Mod, scope: Namer, expr: Map<Value, string>, w: CodeWriter): void {
    type Unit = { kind: 'item'; item: Item } | { kind: 'call'; mod: Mod };
    const units: Unit[] = [];
    const unitOf = new Map<Item, Unit>();
    const calls = new Map<Mod, Unit>();
    for (const it of m.subtree) {
      let target: Mod | null = null;
      const chain: Mod[] = [];
      for (let cur: Mod | null = it.mod; cur && cur !== m; cur = cur.parent) chain.unshift(cur);
      for (const c of chain) if (!c.flat && !c.layer) {
        target = c;
        break;
      }
      if (target) {
        let u = calls.get(target);
        if (!u) {
          u = { kind: 'call', mod: target };
          calls.set(target, u);
          units.push(u);
        }
        unitOf.set(it, u);
      } else {
        const u: Unit = { kind: 'item', item: it };
        units.push(u);
        unitOf.set(it, u);
      }
    }
    // Kahn's order over units, earliest source position first.
    const deps = new Map<Unit, Set<Unit>>();
    const users = new Map<Unit, Set<Unit>>();
    const first = (u: Unit) => (u.kind === 'item' ? u.item.index : u.mod.first);
    for (const u of units) {
      deps.set(u, new Set());
      users.set(u, new Set());
    }
    for (const it of m.subtree) {
      const u = unitOf.get(it)!;
      const ins = it.kind === 'node' ? [...it.node.inputs, ...it.node.subgraphs().flatMap(outerRefs)] : [it.layer.input];
      for (const v of ins) {
        const p = v ? this.producer.get(v) : undefined;
        const pu = p ? unitOf.get(p) : undefined;
        if (pu && pu !== u) {
          deps.get(u)!.add(pu);
          users.get(pu)!.add(u);
        }
      }
    }
    const ready = units.filter((u) => deps.get(u)!.size === 0);
    const done = new Set<Unit>();
    while (ready.length) {
      ready.sort((a, b) => first(a) - first(b));
      const u = ready.shift()!;
      done.add(u);
      if (u.kind === 'item') emitItem(this, u.item, m, scope, expr, w);
      else this.emitCall(u.mod, m, scope, expr, w);
      for (const x of users.get(u)!) {
        const d = deps.get(x)!;
        d.delete(u);
        if (d.size === 0 && !done.has(x)) ready.push(x);
      }
    }
    if (done.size !== units.length) throw new Error(`internal: module ${m.path.join('.') || '(root)'}: cyclic units`);
  }

  emitCall(c: Mod, m: Mod, scope: Namer, expr: Map<Value, string>, w: CodeWriter): void {
    const args = c.inputs.map((v) => this.ref(v, m, expr, this.host.has(v) ? 'host' : 'tensor'));
    const base = c.parent?.cellList ? `${c.parent.attr || c.parent.seg}_${c.seg}` : c.attr;
    const names = c.outputs.map((o, i) => scope.take(c.outputs.length === 1 ? base : `${base}_${i}`, 'out'));
    c.outputs.forEach((o, i) => expr.set(o, names[i]!));
    // A class that returns more than this instance uses: the results it does not use are `_`.
    const targets = c.returns ? Array.from({ length: c.returns.count }, (_, k) => names[c.returns!.at.indexOf(k)] ?? '_') : names;
    w.line(`${targets.join(', ')} = ${access(this, m, c)}(${args.join(', ')})`);
    this.count('(cell)', c.cls);
  }

  count(op: string, what: string): void {
    const m = this.mapping.get(op) ?? new Map<string, number>();
    m.set(what, (m.get(what) ?? 0) + 1);
    this.mapping.set(op, m);
  }

  /** Python text for a value inside module `m`. */
  ref(v: Value, m: Mod, expr: Map<Value, string>, want: 'tensor' | 'host'): string {
    const known = this.numericKnown(v);
    if (want === 'host' && known) return known;
    const e = expr.get(v);
    if (e !== undefined) {
      if (want === 'tensor' && this.host.has(v)) return this.hostToTensor(v, e);
      return e;
    }
    const t = this.constants.get(v);
    if (t) {
      const b = this.buffers.get(v);
      if (b && isWithin(b.owner, m)) return `${access(this, m, b.owner)}.${b.attr}`;
      if (want === 'host') return literalHost(t);
      return this.literalTensor(t);
    }
    if (known) return want === 'tensor' ? this.hostToTensor(v, known) : known;
    throw new Error(`internal: value ${v.name} is used before it is defined in ${m.path.join('.') || 'the model'}`);
  }

  numericKnown(v: Value): string | null {
    const k = this.known.get(v);
    if (!k || !k.elems.every((d) => typeof d === 'number')) return null;
    const xs = k.elems as number[];
    if (k.scalar) return String(xs[0]);
    return xs.length === 1 ? `(${xs[0]},)` : `(${xs.join(', ')})`;
  }

  hostToTensor(v: Value, e: string): string {
    const dt = dtypeName(v) ?? 'int64';
    const ms = dtypeFromName(dt)?.ms ?? 'ms.int64';
    return `ms.Tensor(${e}, ${ms})`;
  }

  literalTensor(t: Tensor): string {
    const vals = literals(t);
    const ms = t.dtype.ms ?? 'ms.float32';
    if (t.dims.length === 0) return `ms.Tensor(${vals[0]}, ${ms})`;
    return `ms.Tensor(${vals.length === 1 ? `(${vals[0]},)` : `(${vals.join(', ')})`}, ${ms})`;
  }
}

export { fmt };
