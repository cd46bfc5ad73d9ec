/**
 * A constant Pad folded into the Conv or pooling op it feeds: zero padding of the spatial dims becomes the Conv's
 * (or AveragePool's, counting the pads) `pads`; -inf padding becomes MaxPool's. Only explicit padding (no auto_pad),
 * non-negative pads, no padding of batch or channel dims, and a Pad whose output feeds only that op.
 */
import type { Node } from '../../ir/node.js';
import type { NearMiss, Pass } from '../pass.js';
import { result } from '../pass.js';

const CONV = /^mint\.nn\.functional\.conv[123]d$/;
const AVG = /^mint\.nn\.functional\.avg_pool[123]d$/;
const MAX = /^mint\.nn\.functional\.max_pool[123]d$/;

const ints = (n: Node, k: string): number[] | null => {
  const a = n.attrs.get(k);
  return a?.type === 'ints' ? a.value.map(Number) : null;
};

export const foldPad: Pass = {
  name: 'fold-pad',
  description: 'constant Pad folded into the Conv / AveragePool / MaxPool it feeds',
  run(model) {
    const g = model.graph;
    let folded = 0;
    const nearMisses: NearMiss[] = [];
    for (const pad of [...g]) {
      if (pad.op !== 'mint.nn.functional.pad' || pad.graph !== g) continue;
      const y = pad.outputs[0]!;
      const user = y.uses.length === 1 && !g.outputs.includes(y) ? y.uses[0]! : null;
      const op = user?.index === 0 ? user.node : null;
      const kind = !op ? null : CONV.test(op.op) ? 'conv' : AVG.test(op.op) ? 'avg' : MAX.test(op.op) ? 'max' : null;
      // Near misses are Pads that feed a convolution or pooling op alone.
      if (!op || !kind) continue;
      const miss = (reason: string) => nearMisses.push({ node: pad.name, reason: `Pad into ${op.op}: ${reason}` });
      const pads = ints(pad, 'pads');
      const mode = String(pad.attrs.get('mode')?.value ?? 'constant');
      const value = Number(pad.attrs.get('value')?.value ?? 0);
      const rank = pad.inputs[0]?.type?.kind === 'tensor' ? pad.inputs[0].type.shape?.length : undefined;
      const reason = mode !== 'constant' ? `mode ${mode}, not constant`
        : !pads || pad.inputs.slice(1).some(Boolean) ? 'the pads are not constant'
          : ints(pad, 'axes') ? 'the Pad names its axes'
            : !rank ? "the input's rank is unknown"
              : pads.length !== 2 * rank || pads.some((p) => p < 0) ? 'negative pads (a crop)'
                : [0, 1, rank, rank + 1].some((i) => pads[i] !== 0) ? 'it pads the batch or channel dims'
                  : (kind === 'max' ? value !== -Infinity : value !== 0) ? `it pads with ${value}, not ${kind === 'max' ? '-inf' : '0'}`
                    : String(op.attrs.get('auto_pad')?.value ?? 'NOTSET') !== 'NOTSET' ? 'the op pads itself (auto_pad)'
                      : null;
      if (reason || !pads || !rank) {
        miss(reason ?? 'unknown pads');
        continue;
      }
      const spatial = rank - 2;
      const own = ints(op, 'pads') ?? new Array<number>(2 * spatial).fill(0);
      if (kind === 'avg' && own.some((p) => p !== 0) && Number(op.attrs.get('count_include_pad')?.value ?? 0) !== 1) {
        miss('the pool pads itself without counting the pads');
        continue;
      }
      if (kind === 'max' && (op.outputs[1]?.uses.length ?? 0) > 0) {
        miss("the pool's indices are read (they would shift)");
        continue;
      }
      const merged = own.map((p, i) => p + (i < spatial ? pads[2 + i]! : pads[rank + 2 + (i - spatial)]!));
      op.attrs.set('pads', { type: 'ints', value: merged });
      if (kind === 'avg') op.attrs.set('count_include_pad', { type: 'int', value: 1 });
      op.replaceInput(0, pad.inputs[0]!);
      g.remove(pad);
      folded++;
    }
    return { ...result({ pad_folded: folded }), nearMisses };
  },
};
