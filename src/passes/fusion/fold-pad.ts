/**
 * A constant Pad folded into the Conv or pooling op it feeds: zero padding of the spatial dims becomes the Conv's
 * (or AveragePool's, counting the pads) `pads`; -inf padding becomes MaxPool's. Only explicit padding (no auto_pad),
 * non-negative pads, no padding of batch or channel dims, and a Pad whose output feeds only that op.
 */
import type { Node } from '../../ir/node.js';
import type { DialectOp } from '../../dialect/op-names.js';
import type { Match, Rule } from '../pattern.js';
import { ints, named, op, rest, rulePass, shapeOf } from '../pattern.js';

const POOLS = [1, 2, 3].flatMap((d) => [`mint.nn.functional.conv${d}d`, `mint.nn.functional.avg_pool${d}d`, `mint.nn.functional.max_pool${d}d`]) as DialectOp[];
const kindOf = (n: Node) => (n.op.includes('conv') ? 'conv' : n.op.includes('avg') ? 'avg' : 'max');

function check(m: Match): string | null {
  const [pad, target] = [m.n.pad!, m.root];
  const kind = kindOf(target);
  const pads = ints(pad, 'pads');
  const mode = String(pad.attrs.get('mode')?.value ?? 'constant');
  const value = Number(pad.attrs.get('value')?.value ?? 0);
  const rank = shapeOf(pad.inputs[0])?.length;
  const own = ints(target, 'pads');
  const reason = mode !== 'constant' ? `mode ${mode}, not constant`
    : !pads || pad.inputs.slice(1).some(Boolean) ? 'the pads are not constant'
      : ints(pad, 'axes') ? 'the Pad names its axes'
        : !rank ? "the input's rank is unknown"
          : pads.length !== 2 * rank || pads.some((p) => p < 0) ? 'negative pads (a crop)'
            : [0, 1, rank, rank + 1].some((i) => pads[i] !== 0) ? 'it pads the batch or channel dims'
              : (kind === 'max' ? value !== -Infinity : value !== 0) ? `it pads with ${value}, not ${kind === 'max' ? '-inf' : '0'}`
                : String(target.attrs.get('auto_pad')?.value ?? 'NOTSET') !== 'NOTSET' ? 'the op pads itself (auto_pad)'
                  : kind === 'avg' && own?.some((p) => p !== 0) && Number(target.attrs.get('count_include_pad')?.value ?? 0) !== 1 ? 'the pool pads itself without counting the pads'
                    : kind === 'max' && (target.outputs[1]?.uses.length ?? 0) > 0 ? "the pool's indices are read (they would shift)"
                      : null;
  return reason && `Pad into ${target.op}: ${reason}`;
}

export const FOLD_PAD_RULES: Rule[] = [{
  name: 'pad_folded', label: 'Pad folding', pattern: op(POOLS, named(op('mint.nn.functional.pad', 'x', rest, rest, rest), 'pad'), rest, rest), check,
  anchor: 'mint.nn.functional.pad', anchorIf: (n) => n.outputs[0]!.uses.length === 1 && n.outputs[0]!.uses[0]!.index === 0 && (POOLS as string[]).includes(n.outputs[0]!.uses[0]!.node.op),
  rewrite(m, cx) {
    const [pad, target] = [m.n.pad!, m.root];
    const pads = ints(pad, 'pads')!;
    const spatial = pads.length / 2 - 2;
    const own = ints(target, 'pads') ?? new Array<number>(2 * spatial).fill(0);
    target.setAttr('pads', { type: 'ints', value: own.map((p, i) => p + (i < spatial ? pads[2 + i]! : pads[spatial + 4 + (i - spatial)]!)) });
    if (kindOf(target) === 'avg') target.setAttr('count_include_pad', { type: 'int', value: 1 });
    target.replaceInput(0, m.v.x!);
    cx.g.remove(pad);
  },
}];

export const foldPad = rulePass('fold-pad', 'constant Pad folded into the Conv / AveragePool / MaxPool it feeds', FOLD_PAD_RULES);
