/**
 * Finds the parametrised ops that become `mint.nn` layers (Conv2d, Linear, LayerNorm, GroupNorm, BatchNorm2d,
 * Embedding, PReLU, ConvTranspose2d) and where each lives in the module tree, so that parameter names equal the
 * PyTorch state_dict names: from the weight's own name when the exporter kept it (`conv_in.weight`), else from the
 * node's scope (`/down_blocks.0/resnets.0/norm1/InstanceNormalization`).
 */
import { dtypeFromName } from '../../ir/dtype.js';
import type { Node } from '../../ir/node.js';
import type { Chunk, Tensor } from '../../ir/tensor.js';
import { transposeInto } from '../../util/transpose.js';
import type { Value } from '../../ir/value.js';
import { nodeScope } from '../../frontend/hierarchy.js';

export interface LayerParam {
  /** Attribute name on the layer (`weight`, `bias`, `running_mean`, ...). */
  attr: string;
  tensor: Tensor;
  /** Dims after `transform` (a transposed MatMul weight, a flattened GroupNorm affine). */
  dims: number[];
  nbytes: number;
  /** The bytes after `transform` (or their source), computed when the weight file is written (see WeightEntry). */
  load: (reuse?: boolean) => Chunk;
  /** ONNX initializer the data came from ('' for synthesised ones such as num_batches_tracked). */
  source: string;
  transform?: string;
}

export interface Layer {
  /** mint.nn class (`mint.nn.Conv2d`). */
  cls: string;
  args: (string | number)[];
  kwargs: [string, string][];
  /** Module path of the layer itself (its parent is path minus the last element). */
  path: string[];
  /** True when the path came from the weight's own name (it must not be renamed). */
  named: boolean;
  params: LayerParam[];
  input: Value;
  output: Value;
  /** Nodes the layer replaces. */
  nodes: Node[];
  /** Extra call arguments after the input. */
  callArgs?: string[];
}

export type ConstOf = (v: Value | null | undefined) => Tensor | null;

const PATH_NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$/;

function userOf(v: Value | null | undefined): Node | null {
  return v && v.uses.length === 1 && !v.graph?.outputs.includes(v) ? v.uses[0]!.node : null;
}

/**
 * [r, c] -> [c, r], read when the weights are written, not before. With `reuse` (a writer that writes each chunk
 * before asking for the next) the result is a buffer the next transpose overwrites; without, an array of its own.
 */
export function transpose2d(t: Tensor, reuse?: boolean): Uint8Array {
  const [r, c] = t.dims as [number, number];
  const out = transposeInto(t.dtype.bits / 8, r, c, (src) => t.readInto(src));
  return reuse ? out : out.slice();
}

function param(attr: string, t: Tensor, source: string, dims?: number[], load?: (reuse?: boolean) => Uint8Array, transform?: string): LayerParam {
  return { attr, tensor: t, dims: dims ?? [...t.dims], nbytes: t.nbytes, load: load ?? (() => t.payload()), source, transform };
}

/**
 * Where a layer lives: the dotted name of one of its parameters (`conv_in.weight` -> `conv_in`), when the name ends
 * in the attribute the layer gives it; else the node's scope.
 */
function placement(node: Node, hint: string, ...params: [Value | null | undefined, string][]): { path: string[]; named: boolean } {
  for (const [v, attr] of params) {
    if (!v || !PATH_NAME.test(v.name) || !v.name.includes('.')) continue;
    const parts = v.name.split('.');
    if (parts[parts.length - 1] === attr) return { path: parts.slice(0, -1), named: true };
  }
  const scope = nodeScope(node)?.path ?? [];
  return { path: scope.length ? scope : [hint], named: false };
}

/** A state_dict name that a layer's `bias` would rename (nn.MultiheadAttention's `in_proj_bias`). */
function foreignBias(v: Value | null | undefined): boolean {
  return !!v && PATH_NAME.test(v.name) && v.name.includes('.') && !v.name.endsWith('.bias');
}

function op(n: Node | null): string {
  return n ? (n.domain === 'mint' ? `mint:${n.op}` : n.op) : '';
}

function attrF(n: Node, k: string, d: number): number {
  const a = n.attrs.get(k);
  return a && (a.type === 'float' || a.type === 'int') ? Number(a.value) : d;
}

function attrIs(n: Node, k: string): number[] | undefined {
  const a = n.attrs.get(k);
  return a?.type === 'ints' ? a.value.map(Number) : undefined;
}

function rankOf(v: Value | null | undefined): number | null {
  return v?.type?.kind === 'tensor' && v.type.shape ? v.type.shape.length : null;
}

export interface LayerOptions {
  /** Version checks (BatchNorm's num_batches_tracked is int64 from 2.6, float32 before). */
  versionAtLeast: (v: string) => boolean;
  /** Whether the target version has an API (a layer class missing there is emitted functionally). */
  available: (api: string) => boolean;
}

/** Recognises layers; each node belongs to at most one. */
export function findLayers(nodes: readonly Node[], constOf: ConstOf, opts: LayerOptions): Layer[] {
  const out: Layer[] = [];
  const taken = new Set<Node>();
  for (const n of nodes) {
    if (taken.has(n)) continue;
    const l = recognise(n, constOf, opts);
    if (!l || l.nodes.some((m) => taken.has(m)) || !opts.available(l.cls)) continue;
    // A layer whose weight is half precision (--dtype) is built in that type.
    const w = l.params[0]?.tensor.dtype;
    if (w && (w.name === 'float16' || w.name === 'bfloat16') && !/Norm/.test(l.cls)) l.kwargs.push(['dtype', w.ms!]);
    for (const m of l.nodes) taken.add(m);
    out.push(l);
  }
  return out;
}

function recognise(n: Node, constOf: ConstOf, opts: LayerOptions): Layer | null {
  switch (op(n)) {
    case 'mint:mint.nn.functional.conv1d':
    case 'mint:mint.nn.functional.conv2d':
    case 'mint:mint.nn.functional.conv3d':
      return conv(n, constOf);
    case 'mint:mint.nn.functional.conv_transpose2d':
      return convTranspose(n, constOf);
    case 'mint:mint.nn.functional.linear':
    case 'mint:mint.addmm':
      return gemm(n, constOf);
    case 'mint:mint.matmul':
      return matmul(n, constOf);
    case 'mint:mint.nn.functional.layer_norm':
      return layerNorm(n, constOf, opts);
    case 'mint:mint.nn.functional.group_norm':
      return groupNorm(n, constOf, opts);
    case 'mint:mint.nn.functional.batch_norm':
      return batchNorm(n, constOf, opts);
    case 'mint:mint.index_select':
      return embedding(n, constOf);
    case 'mint:mint.nn.functional.prelu':
      return prelu(n, constOf);
    default:
      return null;
  }
}

/** Symmetric padding per spatial dim, or null when the pads are asymmetric or implicit (auto_pad). */
export function symmetricPads(n: Node, spatial: number): number[] | null {
  const auto = n.attrs.get('auto_pad');
  if (auto?.type === 'string' && auto.value !== 'NOTSET' && auto.value !== 'VALID') return null;
  const pads = attrIs(n, 'pads') ?? new Array(spatial * 2).fill(0);
  if (auto?.type === 'string' && auto.value === 'VALID') return new Array(spatial).fill(0);
  const begin = pads.slice(0, spatial);
  const end = pads.slice(spatial);
  return begin.every((b, i) => b === end[i]) ? begin : null;
}

/** One number when all equal, else a tuple: `3`, `(1, 2)`. */
export const compact = (xs: number[]): string => (xs.length && xs.every((x) => x === xs[0]) ? String(xs[0]) : `(${xs.join(', ')}${xs.length === 1 ? ',' : ''})`);

/**
 * The keyword options a (transposed) convolution differs from the defaults in, in mint's parameter order, for a
 * layer constructor or a functional call: stride, padding, [output_padding,] groups/dilation.
 */
export function convOptions(n: Node, spatial: number, padding: number[], transposed = false): [string, string][] {
  const ones = new Array(spatial).fill(1);
  const stride = attrIs(n, 'strides') ?? ones;
  const dil = attrIs(n, 'dilations') ?? ones;
  const outPad = transposed ? attrIs(n, 'output_padding') ?? new Array(spatial).fill(0) : [];
  const group = attrF(n, 'group', 1);
  const kw: [string, string][] = [];
  if (stride.some((s) => s !== 1)) kw.push(['stride', compact(stride)]);
  if (padding.some((p) => p !== 0)) kw.push(['padding', compact(padding)]);
  if (outPad.some((p) => p !== 0)) kw.push(['output_padding', compact(outPad)]);
  // conv2d takes dilation before groups, conv_transpose2d after.
  const dilation: [string, string][] = dil.some((d) => d !== 1) ? [['dilation', compact(dil)]] : [];
  const groups: [string, string][] = group !== 1 ? [['groups', String(group)]] : [];
  return transposed ? [...kw, ...groups, ...dilation] : [...kw, ...dilation, ...groups];
}

function conv(n: Node, constOf: ConstOf): Layer | null {
  const w = constOf(n.inputs[1]);
  const bias = n.inputs[2] ? constOf(n.inputs[2]) : null;
  if (!w || (n.inputs[2] && !bias) || !n.inputs[0] || !n.outputs[0]) return null;
  const spatial = w.dims.length - 2;
  const pads = symmetricPads(n, spatial);
  if (!pads) return null;
  const group = attrF(n, 'group', 1);
  const kernel = w.dims.slice(2);
  const kwargs = convOptions(n, spatial, pads);
  if (!bias) kwargs.push(['bias', 'False']);
  const params = [param('weight', w, n.inputs[1]!.name)];
  if (bias) params.push(param('bias', bias, n.inputs[2]!.name));
  return {
    cls: `mint.nn.Conv${spatial}d`, args: [w.dims[1]! * group, w.dims[0]!, compact(kernel)], kwargs,
    ...placement(n, 'conv', [n.inputs[1], 'weight'], [n.inputs[2], 'bias']), params, input: n.inputs[0], output: n.outputs[0], nodes: [n],
  };
}

function convTranspose(n: Node, constOf: ConstOf): Layer | null {
  const w = constOf(n.inputs[1]);
  const bias = n.inputs[2] ? constOf(n.inputs[2]) : null;
  if (!w || (n.inputs[2] && !bias) || !n.inputs[0] || !n.outputs[0] || n.attrs.has('output_shape')) return null;
  const spatial = w.dims.length - 2;
  const pads = symmetricPads(n, spatial);
  if (!pads) return null;
  const group = attrF(n, 'group', 1);
  const kwargs = convOptions(n, spatial, pads, true);
  if (!bias) kwargs.push(['bias', 'False']);
  const params = [param('weight', w, n.inputs[1]!.name)];
  if (bias) params.push(param('bias', bias, n.inputs[2]!.name));
  return {
    cls: 'mint.nn.ConvTranspose2d', args: [w.dims[0]!, w.dims[1]! * group, compact(w.dims.slice(2))], kwargs,
    ...placement(n, 'conv_transpose', [n.inputs[1], 'weight'], [n.inputs[2], 'bias']), params, input: n.inputs[0], output: n.outputs[0], nodes: [n],
  };
}

function linearLayer(n: Node, x: Value, out: Value, weight: LayerParam, bias: LayerParam | null, wValue: Value, bValue: Value | null, nodes: Node[]): Layer {
  const [outF, inF] = weight.dims as [number, number];
  return {
    cls: 'mint.nn.Linear', args: [inF, outF], kwargs: bias ? [] : [['bias', 'False']],
    ...placement(n, 'linear', [wValue, 'weight'], [bValue, 'bias']), params: bias ? [weight, bias] : [weight], input: x, output: out, nodes,
  };
}

function gemm(n: Node, constOf: ConstOf): Layer | null {
  const b = constOf(n.inputs[1]);
  const c = n.inputs[2] ? constOf(n.inputs[2]) : null;
  if (!b || b.dims.length !== 2 || !n.inputs[0] || !n.outputs[0] || (n.inputs[2] && !c)) return null;
  if (attrF(n, 'transA', 0) !== 0 || attrF(n, 'alpha', 1) !== 1 || attrF(n, 'beta', 1) !== 1) return null;
  if (c && (c.dims.length !== 1 || c.dims[0] !== (attrF(n, 'transB', 0) ? b.dims[0] : b.dims[1]) || foreignBias(n.inputs[2]))) return null;
  const transB = attrF(n, 'transB', 0) === 1;
  const weight = transB ? param('weight', b, n.inputs[1]!.name) : param('weight', b, n.inputs[1]!.name, [b.dims[1]!, b.dims[0]!], (s) => transpose2d(b, s), 'transposed (ONNX Gemm B is [in, out])');
  const bias = c ? param('bias', c, n.inputs[2]!.name) : null;
  return linearLayer(n, n.inputs[0], n.outputs[0], weight, bias, n.inputs[1]!, c ? n.inputs[2]! : null, [n]);
}

/**
 * nn.MultiheadAttention's input projection: a MatMul by an unnamed weight (the exporter's transposed copy) whose bias
 * is a state_dict tensor named `<module>.<p>_bias`. Its weight is `<module>.<p>_weight` in torch, a parameter of the
 * module, not of a Linear child: the port keeps both there and calls mint.nn.functional.linear. Returns that name.
 */
export function projectionWeight(n: Node, constOf: ConstOf): string | null {
  const b = constOf(n.inputs[1]);
  const w = n.inputs[1];
  if (op(n) !== 'mint:mint.matmul' || !b || b.dims.length !== 2 || !w || (PATH_NAME.test(w.name) && w.name.includes('.'))) return null;
  const add = userOf(n.outputs[0]);
  if (!add || op(add) !== 'mint:mint.add') return null;
  const bias = add.inputs[0] === n.outputs[0] ? add.inputs[1] : add.inputs[0];
  const c = constOf(bias);
  if (!c || c.dims.length !== 1 || c.dims[0] !== b.dims[1] || !foreignBias(bias) || !/_bias$/.test(bias!.name)) return null;
  return bias!.name.replace(/_bias$/, '_weight');
}

/** The projection weights of `nodes` (see projectionWeight), by the weight's value. */
export function projectionWeights(nodes: readonly Node[], constOf: ConstOf): Map<Value, string> {
  const out = new Map<Value, string>();
  for (const n of nodes) {
    const name = projectionWeight(n, constOf);
    if (name) out.set(n.inputs[1]!, name);
  }
  return out;
}

function matmul(n: Node, constOf: ConstOf): Layer | null {
  if (projectionWeight(n, constOf)) return null;
  const b = constOf(n.inputs[1]);
  const x = n.inputs[0];
  if (!b || b.dims.length !== 2 || !x || !n.outputs[0] || constOf(x)) return null;
  const r = rankOf(x);
  if (r !== null && r < 2) return null;
  const weight = param('weight', b, n.inputs[1]!.name, [b.dims[1]!, b.dims[0]!], (s) => transpose2d(b, s), 'transposed (ONNX MatMul weight is [in, out])');
  // A following Add of a [out] constant is the Linear's bias.
  const add = userOf(n.outputs[0]);
  if (add && op(add) === 'mint:mint.add') {
    const other = add.inputs[0] === n.outputs[0] ? add.inputs[1] : add.inputs[0];
    const c = constOf(other);
    if (c && c.dims.length === 1 && c.dims[0] === b.dims[1] && add.outputs[0] && !foreignBias(other)) {
      return linearLayer(n, x, add.outputs[0], weight, param('bias', c, other!.name), n.inputs[1]!, other!, [n, add]);
    }
  }
  return linearLayer(n, x, n.outputs[0], weight, null, n.inputs[1]!, null, [n]);
}

function layerNorm(n: Node, constOf: ConstOf, opts: LayerOptions): Layer | null {
  const scale = constOf(n.inputs[1]);
  const bias = n.inputs[2] ? constOf(n.inputs[2]) : null;
  const x = n.inputs[0];
  const r = rankOf(x);
  if (!scale || !x || !n.outputs[0] || (n.inputs[2] && !bias) || r === null) return null;
  if (n.outputs.slice(1).some((o) => o && o.uses.length > 0)) return null;
  let axis = attrF(n, 'axis', -1);
  if (axis < 0) axis += r;
  if (r - axis !== scale.dims.length) return null;
  const eps = attrF(n, 'epsilon', 1e-5);
  const old = !opts.versionAtLeast('2.4.0');
  const kwargs: [string, string][] = [['eps', fmt(eps)]];
  if (!bias && !old) kwargs.push(['bias', 'False']);
  if (!bias && old) return null;
  const names = old ? ['gamma', 'beta'] : ['weight', 'bias'];
  const params = [param(names[0]!, scale, n.inputs[1]!.name)];
  if (bias) params.push(param(names[1]!, bias, n.inputs[2]!.name));
  const shape = scale.dims.length === 1 ? `(${scale.dims[0]},)` : `(${scale.dims.join(', ')})`;
  return { cls: 'mint.nn.LayerNorm', args: [shape], kwargs, ...placement(n, 'layer_norm', [n.inputs[1], names[0]!], [n.inputs[2], names[1]!]), params, input: x, output: n.outputs[0], nodes: [n] };
}

/** A group norm (fused from torch's InstanceNormalization form, or GroupNormalization) with per-channel affine. */
function groupNorm(n: Node, constOf: ConstOf, opts: LayerOptions): Layer | null {
  const x = n.inputs[0];
  const scale = constOf(n.inputs[1]);
  const bias = constOf(n.inputs[2]);
  const xs = x?.type?.kind === 'tensor' ? x.type.shape : null;
  if (!x || !scale || !bias || !n.outputs[0] || !xs || typeof xs[1] !== 'number' || n.attrs.has('affine_per_group')) return null;
  const channels = xs[1];
  if (scale.size !== channels || bias.size !== channels) return null;
  const groups = attrF(n, 'num_groups', 1);
  const [wName, bName] = opts.versionAtLeast('2.5.0') ? ['weight', 'bias'] : ['gamma', 'beta'];
  // The fusion marks a group norm that had no Mul/Add after it (torch GroupNorm(affine=False)).
  const unit = attrF(n, 'affine', 1) === 0;
  const kwargs: [string, string][] = [['eps', fmt(attrF(n, 'epsilon', 1e-5))]];
  if (unit) kwargs.push(['affine', 'False']);
  const params = unit ? [] : [param(wName, scale, n.inputs[1]!.name, [channels]), param(bName, bias, n.inputs[2]!.name, [channels])];
  return { cls: 'mint.nn.GroupNorm', args: [groups, channels], kwargs, ...placement(n, 'group_norm', [n.inputs[1], wName], [n.inputs[2], bName]), params, input: x, output: n.outputs[0], nodes: [n] };
}

function batchNorm(n: Node, constOf: ConstOf, opts: LayerOptions): Layer | null {
  const ts = [1, 2, 3, 4].map((i) => constOf(n.inputs[i]));
  const x = n.inputs[0];
  const r = rankOf(x);
  if (ts.some((t) => !t) || !x || !n.outputs[0] || r === null || r < 2 || r > 5) return null;
  if (n.outputs.slice(1).some((o) => o && o.uses.length > 0)) return null;
  if (attrF(n, 'training_mode', 0) !== 0) return null;
  const [scale, bias, mean, variance] = ts as Tensor[];
  const channels = scale!.dims[0]!;
  const dim = r === 5 ? 3 : r === 4 ? 2 : 1;
  const eps = attrF(n, 'epsilon', 1e-5);
  const momentum = 1 - attrF(n, 'momentum', 0.9);
  const nbt = opts.versionAtLeast('2.6.0') ? dtypeFromName('int64')! : dtypeFromName('float32')!;
  const params = [
    param('weight', scale!, n.inputs[1]!.name), param('bias', bias!, n.inputs[2]!.name),
    param('running_mean', mean!, n.inputs[3]!.name), param('running_var', variance!, n.inputs[4]!.name),
    { attr: 'num_batches_tracked', tensor: scale!, dims: [], nbytes: nbt.bits / 8, load: () => new Uint8Array(nbt.bits / 8), source: '', transform: `synthesised (${nbt.name} 0)` },
  ];
  (params[4] as LayerParam & { dtype?: string }).dtype = nbt.name;
  return {
    cls: `mint.nn.BatchNorm${dim}d`, args: [channels], kwargs: [['eps', fmt(eps)], ['momentum', fmt(Math.round(momentum * 1e6) / 1e6)]],
    ...placement(n, 'batch_norm', [n.inputs[1], 'weight'], [n.inputs[2], 'bias'], [n.inputs[3], 'running_mean'], [n.inputs[4], 'running_var']), params, input: x, output: n.outputs[0], nodes: [n],
  };
}

function embedding(n: Node, constOf: ConstOf): Layer | null {
  const w = constOf(n.inputs[0]);
  const idx = n.inputs[1];
  if (!w || w.dims.length !== 2 || w.dtype.kind !== 'float' || !idx || constOf(idx) || !n.outputs[0]) return null;
  if (attrF(n, 'axis', 0) !== 0) return null;
  return {
    cls: 'mint.nn.Embedding', args: [w.dims[0]!, w.dims[1]!], kwargs: [],
    ...placement(n, 'embedding', [n.inputs[0], 'weight']), params: [param('weight', w, n.inputs[0]!.name)], input: idx, output: n.outputs[0], nodes: [n],
  };
}

function prelu(n: Node, constOf: ConstOf): Layer | null {
  const s = constOf(n.inputs[1]);
  const x = n.inputs[0];
  const r = rankOf(x);
  if (!s || !x || !n.outputs[0] || r === null || r < 2) return null;
  const nonOne = s.dims.filter((d) => d !== 1);
  let count = 1;
  if (nonOne.length === 1) {
    // The slope must broadcast along the channel axis (1) of the input.
    const pos = r - s.dims.length + s.dims.findIndex((d) => d !== 1);
    if (pos !== 1) return null;
    count = nonOne[0]!;
  } else if (nonOne.length > 1) return null;
  return {
    cls: 'mint.nn.PReLU', args: [count], kwargs: [],
    ...placement(n, 'prelu', [n.inputs[1], 'weight']), params: [param('weight', s, n.inputs[1]!.name, [count])], input: x, output: n.outputs[0], nodes: [n],
  };
}

/** A Python float literal for attributes stored as float32 (1e-5 stays 1e-05, not 9.99999974737875e-06). */
export function fmt(x: number): string {
  const short = Number(x.toPrecision(7));
  const v = Math.fround(short) === Math.fround(x) ? short : x;
  const s = String(v);
  return /[.eE]|inf|nan/i.test(s) ? s.replace('e-', 'e-0').replace(/e-0(\d\d)/, 'e-$1') : s + '.0';
}
