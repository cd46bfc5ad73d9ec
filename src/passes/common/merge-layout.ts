/**
 * Consecutive layout ops merged: Transpose(Transpose(x, p), q) -> Transpose(x, p∘q) (nothing at all when the
 * composition is the identity), and Reshape(Reshape(x), s) -> Reshape(x, s) when `s` is a constant that copies no
 * dim from the intermediate (no 0 entries, or allowzero). The first op stays only while something else reads it.
 */
import type { Pass } from '../pass.js';
import { result } from '../pass.js';

const perm = (a: { type: string; value: unknown } | undefined): number[] | null => (a?.type === 'ints' ? (a.value as bigint[]).map(Number) : null);

export const mergeLayout: Pass = {
  name: 'merge-layout',
  description: 'merge consecutive Transposes and consecutive Reshapes',
  run(model) {
    const g = model.graph;
    let transposes = 0;
    let reshapes = 0;
    for (const n of [...g]) {
      if (n.graph !== g) continue;
      const x = n.inputs[0];
      const p = x?.producer;
      if (!x || !p || p.op !== n.op || p.graph !== g) continue;
      if (n.op === 'mint.permute') {
        const inner = perm(p.attrs.get('perm'));
        const outer = perm(n.attrs.get('perm'));
        if (!inner || !outer || inner.length !== outer.length) continue;
        // out[i] = mid[outer[i]] = in[inner[outer[i]]].
        const composed = outer.map((o) => inner[o]!);
        if (composed.every((v, i) => v === i)) {
          const y = n.outputs[0]!;
          if (g.outputs.includes(y)) {
            n.attrs.set('perm', { type: 'ints', value: composed });
            n.replaceInput(0, p.inputs[0]!);
          } else {
            g.replaceAllUsesWith(y, p.inputs[0]!);
            g.remove(n);
          }
        } else {
          n.attrs.set('perm', { type: 'ints', value: composed });
          n.replaceInput(0, p.inputs[0]!);
        }
        transposes++;
      } else if (n.op === 'mint.reshape') {
        const shape = perm(n.attrs.get('shape'));
        const allowzero = Number(n.attrs.get('allowzero')?.value ?? 0) === 1;
        if (!shape || n.inputs[1] || (!allowzero && shape.includes(0))) continue;
        n.replaceInput(0, p.inputs[0]!);
        reshapes++;
      } else continue;
      if (p.outputs.every((o) => !o || (o.uses.length === 0 && !g.outputs.includes(o)))) g.remove(p);
    }
    return result({ transposes_merged: transposes, reshapes_merged: reshapes });
  },
};
