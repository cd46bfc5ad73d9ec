/**
 * Fused dialect ops -> what the target EP runs: `msgraph.multi_head_attention` becomes com.microsoft's
 * MultiHeadAttention where the capability table lists it; a `scaled_dot_product_attention` that stayed per-head is
 * expanded back into matmul/softmax dialect ops, so the unfused graph stays valid on every EP.
 */
import { MsgraphError } from '../../errors.js';
import type { Graph } from '../../ir/graph.js';
import type { Model } from '../../ir/model.js';
import { Node } from '../../ir/node.js';
import { Tensor } from '../../ir/tensor.js';
import { Value } from '../../ir/value.js';
import { dtypeFromName } from '../../ir/dtype.js';
import { SDPA_OP } from '../../passes/fusion/attention.js';
import { MHA_OP } from '../../passes/fusion/mha.js';
import { epSupports } from './capabilities.js';

const F32 = dtypeFromName('float32')!;

function scalar(g: Graph, name: string, x: number): Value {
  const v = g.addInitializer(new Value(name), Tensor.fromArray(F32, [], new Float32Array([x]), name));
  v.type = { kind: 'tensor', dtype: F32, shape: [] };
  return v;
}

export function lowerFusedForOrt(model: Model, ep: string): { mha: number; expanded: number } {
  const g = model.graph;
  const stats = { mha: 0, expanded: 0 };
  let k = 0;
  for (const n of [...g]) {
    if (n.op === MHA_OP) {
      if (!epSupports(ep, 'com.microsoft', 'MultiHeadAttention')) throw new MsgraphError('unsupported', `the ${ep} execution provider has no MultiHeadAttention kernel`, { node: n.name });
      const [q, key, v, mask] = n.inputs;
      const m = new Node({
        op: 'MultiHeadAttention', domain: 'com.microsoft', name: n.name,
        inputs: mask ? [q!, key!, v!, null, null, mask] : [q!, key!, v!],
        outputs: 1, attrs: [['num_heads', n.attrs.get('num_heads')!], ['scale', n.attrs.get('scale')!]],
      });
      m.outputs[0]!.name = n.outputs[0]!.name;
      m.outputs[0]!.type = n.outputs[0]!.type;
      g.insertBefore(n, m);
      g.replaceAllUsesWith(n.outputs[0]!, m.outputs[0]!);
      g.remove(n);
      model.opsets.set('com.microsoft', 1);
      stats.mha++;
    } else if (n.op === SDPA_OP) {
      const [q, key, v, mask] = n.inputs;
      const r = key?.type?.kind === 'tensor' ? key.type.shape?.length : undefined;
      if (!r) throw new MsgraphError('unsupported', 'attention with a key of unknown rank', { node: n.name });
      const base = `${n.name || 'attention'}_${k++}`;
      let step = 0;
      const add = (op: string, inputs: (Value | null)[], attrs: [string, Node['attrs'] extends Map<string, infer A> ? A : never][] = []) => {
        const tag = `${base}/${op.split('.').pop()}_${step++}`;
        const x = new Node({ op, domain: 'mint', name: tag, inputs, outputs: 1, attrs });
        x.outputs[0]!.name = `${tag}_output`;
        g.insertBefore(n, x);
        return x.outputs[0]!;
      };
      let kt = key!;
      if (Number(n.attrs.get('key_transposed')?.value ?? 0) === 0) {
        const perm = Array.from({ length: r }, (_, i) => (i === r - 2 ? r - 1 : i === r - 1 ? r - 2 : i));
        kt = add('mint.permute', [key!], [['perm', { type: 'ints', value: perm }]]);
      }
      let s = add('mint.mul', [add('mint.matmul', [q!, kt]), scalar(g, `${base}/scale`, Number(n.attrs.get('scale')?.value ?? 1))]);
      if (mask) {
        s = mask.type?.kind === 'tensor' && mask.type.dtype?.name === 'bool'
          ? add('mint.where', [mask, s, scalar(g, `${base}/neg_inf`, -Infinity)])
          : add('mint.add', [s, mask]);
      }
      const p = add('mint.softmax', [s], [['axis', { type: 'int', value: -1 }]]);
      const out = add('mint.matmul', [p, v!]);
      out.type = n.outputs[0]!.type;
      g.replaceAllUsesWith(n.outputs[0]!, out);
      out.name = n.outputs[0]!.name;
      g.remove(n);
      stats.expanded++;
    }
  }
  return stats;
}
