/**
 * Rewrites that keep onnxruntime's own graph optimiser from choosing a kernel the capability table marks as slower
 * than what it replaces (`EP_CAPABILITIES[ep].avoid`), measured by `bench/ort-kernels.ts`.
 *
 * SkipLayerNormalization: onnxruntime fuses Add -> LayerNormalization into it whenever both Add inputs are 3-D of
 * one shape, which is always the case once msgraph has made the shapes known. On the cpu EP of
 * onnxruntime 1.30 that kernel is several times slower than the Add and the LayerNormalization it replaces, so the
 * LayerNormalization runs on a [N, D] view of its input instead (Reshape is a view in onnxruntime), which the fusion
 * does not match. (On wasm the contrib kernel measured faster, so wasm keeps it.)
 *
 * int64 value types on webgpu: onnxruntime-web 1.30's webgpu EP computes wrong results when the file declares the
 * type of an int64 ConstantOfShape output that feeds a Gather (BERT's token-type ids: the embedding lookup goes
 * wrong); without the declaration it is right. So on webgpu the compiled file declares no intermediate int64
 * types (they are indices and shapes, which onnxruntime infers itself); `stripInt64ValueTypes` runs after the plan.
 */
import type { Attribute } from '../../ir/attribute.js';
import type { Model } from '../../ir/model.js';
import { Node } from '../../ir/node.js';
import { EP_CAPABILITIES } from './capabilities.js';
import { int64s, nodesBefore } from './build.js';

export function applyEpGuards(model: Model, ep: string): { layer_norm_views: number } {
  const stats = { layer_norm_views: 0 };
  if (!EP_CAPABILITIES[ep]?.avoid.includes('SkipLayerNormalization')) return stats;
  const g = model.graph;
  for (const ln of [...g]) {
    if (ln.op !== 'LayerNormalization' || ln.domain !== '') continue;
    const x = ln.inputs[0];
    const add = x?.producer;
    const shape = x?.type?.kind === 'tensor' ? x.type.shape : null;
    if (!x || !add || add.op !== 'Add' || add.domain !== '' || !shape || shape.length < 3 || ln.outputs.slice(1).some((o) => o && o.uses.length)) continue;
    const rank = shape.length;
    const axisRaw = Number(ln.attrs.get('axis')?.value ?? -1);
    const axis = axisRaw < 0 ? axisRaw + rank : axisRaw;
    const norm = shape.slice(axis);
    if (!norm.every((d): d is number => typeof d === 'number')) continue;
    const width = norm.reduce((a, b) => a * b, 1);
    const y = ln.outputs[0]!;
    const base = `${ln.name || 'LayerNormalization'}/view`;
    const insert = nodesBefore(g, ln, base);
    const flat = insert('Reshape', [x, int64s(g, `${base}/flat_shape`, [-1, width])], [], '');
    flat.type = { kind: 'tensor', dtype: x.type?.kind === 'tensor' ? x.type.dtype : null, shape: [shape.slice(0, axis).every((d) => typeof d === 'number') ? (shape.slice(0, axis) as number[]).reduce((a, b) => a * b, 1) : null, width] };
    const back = shape.every((d) => typeof d === 'number') ? int64s(g, `${base}/shape`, shape as number[]) : insert('Shape', [x], [], '');
    // A new LayerNormalization on the [N, D] view, and a Reshape back that takes over the old output.
    const view = new Node({ op: 'LayerNormalization', domain: '', name: ln.name, inputs: [flat, ...ln.inputs.slice(1)], outputs: 1, attrs: [...ln.attrs].map(([k, a]): [string, Attribute] => [k, k === 'axis' ? { type: 'int', value: -1 } : a]) });
    for (const [k2, v] of ln.metadata) view.metadata.set(k2, v);
    view.outputs[0]!.name = `${y.name}_flat`;
    view.outputs[0]!.type = { kind: 'tensor', dtype: y.type?.kind === 'tensor' ? y.type.dtype : null, shape: flat.type.shape };
    g.insertBefore(ln, view);
    const out = insert('Reshape', [view.outputs[0]!, back], [], '');
    out.type = y.type;
    g.replaceAllUsesWith(y, out);
    g.remove(ln);
    out.name = y.name;
    stats.layer_norm_views++;
  }
  return stats;
}

/** Drops the types of intermediate int64 values (see above); graph inputs and outputs keep theirs. */
export function stripInt64ValueTypes(model: Model, ep: string): number {
  if (ep !== 'webgpu') return 0;
  const g = model.graph;
  const keep = new Set(g.outputs);
  let n = 0;
  for (const node of g.allNodes()) {
    for (const o of node.outputs) {
      if (o && !keep.has(o) && o.type?.kind === 'tensor' && o.type.dtype?.name === 'int64') {
        o.type = null;
        n++;
      }
    }
  }
  return n;
}
