/**
 * Fused dialect ops -> what the target EP runs, as the capability table allows:
 * - `msgraph.multi_head_attention` -> com.microsoft.MultiHeadAttention (the mask expanded to its attention_bias form);
 * - a `scaled_dot_product_attention` that stayed per-head -> matmul/softmax dialect ops again;
 * - GELU -> ONNX Gelu from opset 20, else com.microsoft Gelu (erf) or FastGelu (tanh), else its formula;
 * - SiLU -> com.microsoft.QuickGelu with alpha 1 (x·sigmoid(x)), else Mul(x, Sigmoid(x));
 * - LayerNorm -> ONNX LayerNormalization (onnxruntime also registers it below opset 17), RMSNorm ->
 *   SimplifiedLayerNormalization (registered by onnxruntime in the default domain);
 * - HardSwish below opset 14 -> x * HardSigmoid(x).
 * Whatever the EP has no kernel for is expanded, so the graph stays valid on every EP.
 */
import { MsgraphError } from '../../errors.js';
import type { Graph } from '../../ir/graph.js';
import type { Model } from '../../ir/model.js';
import type { Attribute } from '../../ir/attribute.js';
import type { Node } from '../../ir/node.js';
import type { Value } from '../../ir/value.js';
import { type Dim, tensorType } from '../../ir/shape.js';
import { LAYER_NORM_OP, MHA_OP, SDPA_OP } from '../../dialect/fused.js';
import { epSupports } from './capabilities.js';
import { f32Scalar, int64s, nodesBefore, takeOver } from './build.js';

const GELU_OP = 'mint.nn.functional.gelu';
const SILU_OP = 'mint.nn.functional.silu';

/**
 * The attention bias in the form com.microsoft's attention ops take: [B|1, H|1, S, L] on cpu/wasm, and the full
 * [B, H, S, L] on webgpu (whose kernel does not broadcast). A mask that broadcasts over what the EP needs is
 * expanded, with the sizes read from Q and K at run time where they are symbolic.
 */
function attentionBias(g: Graph, at: Node, mask: Value, q: Value, key: Value, heads: number, full: boolean, cache: Map<string, Value>): Value {
  const ms = mask.type?.kind === 'tensor' ? mask.type.shape : null;
  const dim = (x: Value, i: number) => (x.type?.kind === 'tensor' ? x.type.shape?.[i] ?? null : null);
  if (!ms || ms.length !== 4) throw new MsgraphError('unsupported', 'attention mask of unknown rank', { node: at.name });
  // What each dim must be, where it comes from when symbolic ([value, dim index]), and whether the mask has it.
  const want: [Dim, Value | null, number][] = [
    [full ? dim(q, 0) : ms[0]!, full ? q : null, 0], [full ? heads : ms[1]!, null, 1], [dim(q, 1), q, 1], [dim(key, 1), key, 1],
  ];
  if (want.every(([w], i) => w === ms[i] || (!full && i < 2))) return mask;
  // Layers share one expanded mask where their sizes are the same (named) dims.
  const key2 = `${mask.name}|${want.map(([w]) => String(w)).join('|')}`;
  if (want.every(([w]) => w !== null) && cache.has(key2)) return cache.get(key2)!;
  const base = `${at.name}/attention_bias`;
  const add = nodesBefore(g, at, base);
  const node = (op: string, inputs: Value[], attrs: [string, Attribute][] = []) => add(op, inputs, attrs, '');
  const parts: Value[] = [];
  let fixed: number[] = [];
  want.forEach(([w, src, from], i) => {
    if (w === ms[i] || ms[i] !== 1) fixed.push(1);
    else if (typeof w === 'number') fixed.push(w);
    else if (src) {
      if (fixed.length) parts.push(int64s(g, `${base}/dims_${i}`, fixed));
      fixed = [];
      parts.push(node('Slice', [node('Shape', [src]), int64s(g, `${base}/start_${i}`, [from]), int64s(g, `${base}/end_${i}`, [from + 1])]));
    } else fixed.push(1);
  });
  if (fixed.length) parts.push(int64s(g, `${base}/dims_tail`, fixed));
  const target = parts.length === 1 ? parts[0]! : node('Concat', parts, [['axis', { type: 'int', value: 0 }]]);
  const out = node('Expand', [mask, target]);
  out.type = { kind: 'tensor', dtype: mask.type?.kind === 'tensor' ? mask.type.dtype : null, shape: want.map(([w], i) => (w === null ? null : ms[i] === 1 ? w : ms[i]!)) };
  cache.set(key2, out);
  return out;
}


export interface FusedLowering {
  mha: number;
  expanded: number;
  gelu: number;
  silu: number;
  layer_norm: number;
  hardswish: number;
}

export function lowerFusedForOrt(model: Model, ep: string): FusedLowering {
  const g = model.graph;
  const opset = model.onnxOpset;
  const stats: FusedLowering = { mha: 0, expanded: 0, gelu: 0, silu: 0, layer_norm: 0, hardswish: 0 };
  let k = 0;
  const biases = new Map<string, Value>();
  const contrib = (n: Node, op: string, inputs: (Value | null)[], attrs: [string, Attribute][]) => {
    const out = nodesBefore(g, n, `${n.name || op}_${k++}`)(op, inputs, attrs, 'com.microsoft');
    out.producer!.name = n.name || out.producer!.name;
    takeOver(g, n, out);
    model.opsets.set('com.microsoft', 1);
  };
  for (const n of [...g]) {
    if (n.op === MHA_OP) {
      if (!epSupports(ep, 'com.microsoft', 'MultiHeadAttention')) throw new MsgraphError('unsupported', `the ${ep} execution provider has no MultiHeadAttention kernel`, { node: n.name });
      const [q, key, v, keep] = n.inputs;
      let mask = keep;
      if (keep?.type?.kind === 'tensor' && keep.type.dtype?.name === 'bool') {
        // A boolean keep-mask as the additive bias the kernel takes: 0 where kept, float32's lowest where not (finite:
        // -inf is not safe in every kernel's arithmetic).
        const base = `${n.name || 'attention'}_${k++}`;
        const add = nodesBefore(g, n, base);
        const zero = f32Scalar(g, `${base}/keep`, 0);
        mask = add('mint.where', [keep, zero, f32Scalar(g, `${base}/drop`, -3.4028234663852886e38)]);
        mask.type = tensorType(zero.type?.kind === 'tensor' ? zero.type.dtype : null, keep.type.shape);
      }
      const bias = mask ? attentionBias(g, n, mask, q!, key!, Number(n.attrs.get('num_heads')?.value ?? 1), ep === 'webgpu', biases) : null;
      contrib(n, 'MultiHeadAttention', bias ? [q!, key!, v!, null, null, bias] : [q!, key!, v!], [['num_heads', n.attrs.get('num_heads')!], ['scale', n.attrs.get('scale')!]]);
      stats.mha++;
    } else if (n.op === SDPA_OP) {
      const [q, key, v, mask] = n.inputs;
      const r = key?.type?.kind === 'tensor' ? key.type.shape?.length : undefined;
      if (!r) throw new MsgraphError('unsupported', 'attention with a key of unknown rank', { node: n.name });
      const base = `${n.name || 'attention'}_${k++}`;
      const add = nodesBefore(g, n, base);
      let kt = key!;
      if (Number(n.attrs.get('key_transposed')?.value ?? 0) === 0) {
        const perm = Array.from({ length: r }, (_, i) => (i === r - 2 ? r - 1 : i === r - 1 ? r - 2 : i));
        kt = add('mint.permute', [key!], [['perm', { type: 'ints', value: perm }]]);
      }
      let s = add('mint.mul', [add('mint.matmul', [q!, kt]), f32Scalar(g, `${base}/scale`, Number(n.attrs.get('scale')?.value ?? 1))]);
      if (mask) {
        s = mask.type?.kind === 'tensor' && mask.type.dtype?.name === 'bool'
          ? add('mint.where', [mask, s, f32Scalar(g, `${base}/neg_inf`, -Infinity)])
          : add('mint.add', [s, mask]);
      }
      const p = add('mint.softmax', [s], [['axis', { type: 'int', value: -1 }]]);
      takeOver(g, n, add('mint.matmul', [p, v!]));
      stats.expanded++;
    } else if (n.op === GELU_OP) {
      const tanh = n.attrs.get('approximate')?.value === 'tanh';
      stats.gelu++;
      if (opset >= 20 && epSupports(ep, '', 'Gelu')) continue;
      const contribOp = tanh ? 'FastGelu' : 'Gelu';
      if (epSupports(ep, 'com.microsoft', contribOp)) {
        contrib(n, contribOp, [n.inputs[0]!], []);
        continue;
      }
      const base = `${n.name || 'gelu'}_${k++}`;
      const add = nodesBefore(g, n, base);
      const x = n.inputs[0]!;
      const c = (name: string, v: number) => f32Scalar(g, `${base}/${name}`, v);
      const inner = tanh
        ? add('mint.tanh', [add('mint.mul', [add('mint.add', [x, add('mint.mul', [add('mint.mul', [add('mint.mul', [x, x]), x]), c('k', 0.044715)])]), c('sqrt_2_over_pi', Math.sqrt(2 / Math.PI))])])
        : add('mint.erf', [add('mint.mul', [x, c('inv_sqrt2', Math.SQRT1_2)])]);
      takeOver(g, n, add('mint.mul', [add('mint.mul', [x, c('half', 0.5)]), add('mint.add', [inner, c('one', 1)])]));
    } else if (n.op === SILU_OP) {
      stats.silu++;
      if (epSupports(ep, 'com.microsoft', 'QuickGelu')) {
        contrib(n, 'QuickGelu', [n.inputs[0]!], [['alpha', { type: 'float', value: 1 }]]);
        continue;
      }
      const add = nodesBefore(g, n, `${n.name || 'silu'}_${k++}`);
      takeOver(g, n, add('mint.mul', [n.inputs[0]!, add('mint.sigmoid', [n.inputs[0]!])]));
    } else if (n.op === 'mint.nn.functional.hardswish' && opset < 14) {
      // HardSwish arrived in opset 14: x * HardSigmoid(x) with torch's constants before that.
      const add = nodesBefore(g, n, `${n.name || 'hardswish'}_${k++}`);
      const x = n.inputs[0]!;
      takeOver(g, n, add('mint.mul', [x, add('mint.nn.functional.hardsigmoid', [x], [['alpha', { type: 'float', value: 1 / 6 }], ['beta', { type: 'float', value: 0.5 }]])]));
      stats.hardswish++;
    } else if (n.op === LAYER_NORM_OP && opset < 17) {
      // onnxruntime registers LayerNormalization in the default domain from version 1 (the ONNX spec from 17).
      const out = nodesBefore(g, n, `${n.name || 'layer_norm'}_${k++}`)('LayerNormalization', [...n.inputs], [
        ['axis', n.attrs.get('axis') ?? { type: 'int', value: -1 }], ['epsilon', n.attrs.get('epsilon') ?? { type: 'float', value: 1e-5 }],
      ], '');
      out.producer!.name = n.name || out.producer!.name;
      takeOver(g, n, out);
      stats.layer_norm++;
    }
  }
  return stats;
}
