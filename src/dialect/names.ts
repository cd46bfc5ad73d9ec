/**
 * Names of the mint dialect. A dialect op is named after the MindSpore API it maps to (`mint.add`,
 * `mint.nn.functional.conv2d`); ops with no single API get an `msgraph.` name (`msgraph.shape`, `msgraph.lstm`).
 * Every dialect name maps back to exactly one ONNX op (per opset), which lowering relies on.
 */
import type { Node } from '../ir/node.js';
import { ALL_OPS } from './ops/registry.js';
import type { OpDef } from './ops/types.js';

export const MINT_DOMAIN = 'mint';

const snake = (op: string) => op.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/([A-Z])([A-Z][a-z])/g, '$1_$2').toLowerCase();

/** Ops whose generic name (their first unconditional API) would collide or mislead. */
const FIXED: Record<string, string> = {
  GlobalMaxPool: 'msgraph.global_max_pool',
  GlobalAveragePool: 'msgraph.global_avg_pool',
  GlobalLpPool: 'msgraph.global_lp_pool',
  CastLike: 'msgraph.cast_like',
  Scatter: 'mint.scatter',
  Upsample: 'mint.nn.functional.interpolate',
  Sum: 'msgraph.sum',
  Mean: 'msgraph.mean',
  Gather: 'mint.index_select',
  Slice: 'msgraph.slice',
  ConstantOfShape: 'msgraph.constant_of_shape',
  InstanceNormalization: 'msgraph.instance_norm',
  SimplifiedLayerNormalization: 'msgraph.rms_norm',
  Flatten: 'mint.flatten',
  HardSigmoid: 'mint.nn.functional.hardsigmoid',
};

/** Ops named by form: the spatial rank or an attribute selects the API. */
const BY_FORM: Record<string, (n: Node, rank: number | null) => string> = {
  Conv: (_n, r) => `mint.nn.functional.conv${r ?? 2}d`,
  ConvTranspose: (_n, r) => `mint.nn.functional.conv_transpose${r ?? 2}d`,
  MaxPool: (_n, r) => `mint.nn.functional.max_pool${r ?? 2}d`,
  AveragePool: (_n, r) => `mint.nn.functional.avg_pool${r ?? 2}d`,
  LpPool: (_n, r) => `msgraph.lp_pool${r ?? 2}d`,
  Mod: (n) => (Number(n.attrs.get('fmod')?.value ?? 0) === 1 ? 'mint.fmod' : 'mint.remainder'),
  Trilu: (n) => (Number(n.attrs.get('upper')?.value ?? 1) === 1 ? 'mint.triu' : 'mint.tril'),
  Gemm: (n) => {
    const a = (k: string, d: number) => Number(n.attrs.get(k)?.value ?? d);
    return a('transA', 0) === 0 && a('transB', 0) === 1 && a('alpha', 1) === 1 && a('beta', 1) === 1 ? 'mint.nn.functional.linear' : 'mint.addmm';
  },
};

const FORM_PATTERNS: [RegExp, string][] = [
  [/^mint\.nn\.functional\.conv[123]d$/, 'Conv'],
  [/^mint\.nn\.functional\.conv_transpose[123]d$/, 'ConvTranspose'],
  [/^mint\.nn\.functional\.max_pool[123]d$/, 'MaxPool'],
  [/^mint\.nn\.functional\.avg_pool[123]d$/, 'AveragePool'],
  [/^msgraph\.lp_pool[123]d$/, 'LpPool'],
];

function genericName(d: OpDef): string {
  if (FIXED[d.op]) return FIXED[d.op]!;
  const ref = d.mint.find((r) => 'api' in r && !r.when && !('since' in r && r.since));
  return ref && 'api' in ref ? ref.api : `msgraph.${snake(d.op)}`;
}

const byOnnx = new Map<string, string>();
const toOnnx = new Map<string, string[]>();
for (const d of ALL_OPS) {
  if (d.domain !== '') continue;
  const names = BY_FORM[d.op] ? [] : [genericName(d)];
  if (d.op === 'Mod') names.push('mint.fmod', 'mint.remainder');
  if (d.op === 'Trilu') names.push('mint.triu', 'mint.tril');
  if (d.op === 'Gemm') names.push('mint.nn.functional.linear', 'mint.addmm');
  if (!BY_FORM[d.op]) byOnnx.set(d.op, names[0]!);
  for (const n of names) {
    const list = toOnnx.get(n) ?? [];
    if (!list.includes(d.op)) list.push(d.op);
    toOnnx.set(n, list);
  }
}

/** The dialect name for an ONNX node of the default domain; `rank` is the spatial rank where it matters. */
export function dialectName(n: Node, rank: number | null): string | undefined {
  const form = BY_FORM[n.op];
  if (form) return form(n, rank);
  return byOnnx.get(n.op);
}

/** Answers by opset and name: inference and lowering ask for every node, several times over. */
const answered = new Map<number, Map<string, string | undefined>>();

/** The ONNX op a dialect op lowers to at `opset`. */
export function onnxOpOf(name: string, opset: number): string | undefined {
  let byName = answered.get(opset);
  if (!byName) answered.set(opset, (byName = new Map()));
  if (byName.has(name)) return byName.get(name);
  const op = lookupOnnxOp(name, opset);
  byName.set(name, op);
  return op;
}

function lookupOnnxOp(name: string, opset: number): string | undefined {
  for (const [re, op] of FORM_PATTERNS) if (re.test(name)) return op;
  const ops = toOnnx.get(name);
  if (!ops) return undefined;
  if (ops.length === 1) return ops[0];
  // Deprecated spellings of the same dialect op: Upsample (< 10) and Scatter (< 11).
  if (name === 'mint.nn.functional.interpolate') return opset < 10 ? 'Upsample' : 'Resize';
  if (name === 'mint.scatter') return opset < 11 ? 'Scatter' : 'ScatterElements';
  throw new Error(`internal: dialect op ${name} maps to ${ops.join(', ')}`);
}

/** Every dialect name with the ONNX ops it stands for (for tests and documentation). */
export function dialectTable(): ReadonlyMap<string, readonly string[]> {
  return toOnnx;
}
