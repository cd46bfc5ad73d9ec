/** `msgraph inspect`: what a model file holds, who exported it, and the module tree its names reveal. */
import type { Model } from '../ir/model.js';
import type { Graph } from '../ir/graph.js';
import { formatType, type ValueType } from '../ir/shape.js';
import type { GraphP, ModelP, NodeP } from './onnx/proto.js';
import { INLINED_FROM } from './onnx/inline.js';
import { buildModuleTree, countModules, type ModuleInfo } from './hierarchy.js';

export interface ValueSummary {
  name: string;
  dtype: string | null;
  /** Dims: numbers when static, strings when symbolic, null when unknown; null shape when the rank is unknown. */
  shape: (number | string | null)[] | null;
  type: string;
}

export interface ExporterGuess {
  kind: 'torch.onnx dynamo' | 'torch.onnx TorchScript' | 'other' | 'unknown';
  /** The facts the guess rests on. */
  evidence: string[];
}

export interface InspectSummary {
  file: string;
  producerName: string;
  producerVersion: string;
  irVersion: number;
  opsets: Record<string, number>;
  modelVersion: number;
  exporter: ExporterGuess;
  inputs: ValueSummary[];
  outputs: ValueSummary[];
  /** Nodes of the main graph as stored in the file (a call of a local function counts as one node). */
  nodeCount: number;
  /** Main graph plus every subgraph, as stored. */
  nodeCountWithSubgraphs: number;
  /** Main graph op histogram as stored (`domain::Op` outside the default domain). */
  opHistogram: Record<string, number>;
  opHistogramWithSubgraphs: Record<string, number>;
  localFunctions: { name: string; domain: string; nodes: number }[];
  /** After local functions are inlined (the IR msgraph works on). */
  ir: { nodeCount: number; nodeCountWithSubgraphs: number; opHistogram: Record<string, number> };
  parameterCount: number;
  parameterBytes: number;
  initializerCount: number;
  metadata: Record<string, string>;
  modules: ModuleInfo;
  moduleCount: number;
}

const opKey = (domain: string, op: string) => (domain === '' || domain === 'ai.onnx' ? op : `${domain}::${op}`);

function histogram(nodes: Iterable<{ domain: string; op: string }>): Record<string, number> {
  const h = new Map<string, number>();
  for (const n of nodes) h.set(opKey(n.domain, n.op), (h.get(opKey(n.domain, n.op)) ?? 0) + 1);
  return Object.fromEntries([...h].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)));
}

function* protoNodes(g: GraphP, deep: boolean): Generator<NodeP> {
  for (const n of g.node) {
    yield n;
    if (deep) for (const a of n.attribute) for (const sg of a.g ? [a.g, ...a.graphs] : a.graphs) yield* protoNodes(sg, true);
  }
}

const asOp = (n: NodeP) => ({ domain: n.domain, op: n.opType });

/** File-level counts; call before importing, since import inlines functions into the proto. */
export function protoStats(p: ModelP): Pick<InspectSummary, 'nodeCount' | 'nodeCountWithSubgraphs' | 'opHistogram' | 'opHistogramWithSubgraphs' | 'localFunctions'> {
  const g = p.graph!;
  const top = [...protoNodes(g, false)];
  const all = [...protoNodes(g, true)];
  return {
    nodeCount: top.length,
    nodeCountWithSubgraphs: all.length,
    opHistogram: histogram(top.map(asOp)),
    opHistogramWithSubgraphs: histogram(all.map(asOp)),
    localFunctions: p.functions.map((f) => ({ name: f.name, domain: f.domain, nodes: f.node.length })),
  };
}

export function valueSummary(name: string, t: ValueType | null): ValueSummary {
  const tensor = t && (t.kind === 'tensor' || t.kind === 'sparse_tensor') ? t : null;
  return { name, dtype: tensor?.dtype?.name ?? null, shape: tensor?.shape ? [...tensor.shape] : null, type: formatType(t) };
}

export function guessExporter(model: Model): ExporterGuess {
  const ev: string[] = [];
  const producer = model.producerName.toLowerCase();
  let dynamo = false;
  const metaKeys = new Set<string>();
  let scoped = 0;
  let opN = 0;
  let total = 0;
  for (const n of model.graph.allNodes()) {
    total++;
    for (const k of n.metadata.keys()) metaKeys.add(k);
    if (n.name.startsWith('/')) scoped++;
    if (/^[A-Z][A-Za-z]*_\d+$/.test(n.name)) opN++;
  }
  const torchMeta = [...metaKeys].filter((k) => k.startsWith('pkg.torch.'));
  if (torchMeta.length) {
    dynamo = true;
    ev.push(`node metadata ${torchMeta.slice(0, 3).join(', ')}`);
  }
  const libDomains = [...model.opsets.keys()].filter((d) => d.startsWith('pkg.onnxscript.torch_lib'));
  const inlinedLib = new Set<string>();
  for (const n of model.graph.allNodes()) {
    const from = n.metadata.get(INLINED_FROM);
    if (from?.startsWith('pkg.onnxscript.torch_lib')) inlinedLib.add(from.split('::')[0]!);
  }
  if (inlinedLib.size) {
    dynamo = true;
    ev.push(`local functions from ${[...inlinedLib].join(', ')}`);
  }
  if (libDomains.length) {
    dynamo = true;
    ev.push(`opset import ${libDomains.join(', ')}`);
  }
  if ([...model.metadata.keys()].some((k) => k.startsWith('pkg.torch.export'))) {
    dynamo = true;
    ev.push('model metadata pkg.torch.export.*');
  }
  const valNames = model.graph.nodes.flatMap((n) => n.outputs).filter((v) => v && /^val_\d+$/.test(v.name)).length;
  if (producer === 'pytorch' && model.irVersion >= 9 && valNames > 0) {
    dynamo = true;
    ev.push(`IR ${model.irVersion} with val_N value names`);
  }
  const version = model.producerVersion ? ` ${model.producerVersion}` : '';
  if (dynamo) return { kind: 'torch.onnx dynamo', evidence: [`producer ${model.producerName || '(empty)'}${version}`, ...ev] };
  if (producer === 'pytorch') {
    ev.push(`producer pytorch${version}`);
    if (scoped > 0) ev.push(`${scoped}/${total} nodes have module-scoped names (/module/.../Op)`);
    else if (opN > 0) ev.push(`${opN}/${total} nodes are named Op_N (older exporters name nodes so)`);
    return { kind: 'torch.onnx TorchScript', evidence: ev };
  }
  if (model.producerName) return { kind: 'other', evidence: [`producer ${model.producerName}${version}`] };
  return { kind: 'unknown', evidence: ['no producer recorded'] };
}

function irCounts(g: Graph): InspectSummary['ir'] {
  const all = [...g.allNodes()];
  return { nodeCount: g.nodeCount, nodeCountWithSubgraphs: all.length, opHistogram: histogram(g) };
}

export function inspectModel(model: Model, stats: ReturnType<typeof protoStats>, file: string): InspectSummary {
  const g = model.graph;
  let parameterCount = 0;
  let parameterBytes = 0;
  let initializerCount = 0;
  const visit = (graph: Graph) => {
    for (const v of graph.initializers) {
      parameterCount += v.const!.size;
      parameterBytes += v.const!.nbytes;
      initializerCount++;
    }
  };
  visit(g);
  for (const n of g.allNodes()) for (const sg of n.subgraphs()) visit(sg);
  const modules = buildModuleTree(g);
  return {
    file,
    producerName: model.producerName,
    producerVersion: model.producerVersion,
    irVersion: model.irVersion,
    opsets: Object.fromEntries([...model.opsets].map(([d, v]) => [d === '' ? 'ai.onnx' : d, v])),
    modelVersion: model.modelVersion,
    exporter: guessExporter(model),
    inputs: g.inputs.filter((v) => !v.const).map((v) => valueSummary(v.name, v.type)),
    outputs: g.outputs.map((v) => valueSummary(v.name, v.type)),
    ...stats,
    ir: irCounts(g),
    parameterCount,
    parameterBytes,
    initializerCount,
    metadata: Object.fromEntries(model.metadata),
    modules,
    moduleCount: countModules(modules) - 1,
  };
}
