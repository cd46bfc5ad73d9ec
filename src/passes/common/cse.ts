/** Common-subexpression elimination: nodes with the same op, attributes and inputs compute the same values. */
import type { Attribute } from '../../ir/attribute.js';
import type { Value } from '../../ir/value.js';
import { base64Encode } from '../../ir/bundle.js';
import type { Pass } from '../pass.js';
import { result } from '../pass.js';

const RANDOM = /random|multinomial|bernoulli|rand/i;

function attrKey(a: Attribute): string {
  switch (a.type) {
    case 'tensor':
      return `t:${a.value.dtype.name}:${a.value.dims.join('x')}:${a.value.isString ? '' : base64Encode(a.value.bytes)}`;
    case 'graph':
    case 'graphs':
      return '';
    default:
      return JSON.stringify(a.value, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v));
  }
}

export const cse: Pass = {
  name: 'cse',
  description: 'merge nodes that compute the same op on the same inputs',
  run(model) {
    const g = model.graph;
    const ids = new Map<Value, number>();
    let next = 0;
    const id = (v: Value | null) => {
      if (!v) return '_';
      let i = ids.get(v);
      if (i === undefined) ids.set(v, (i = next++));
      return String(i);
    };
    const seen = new Map<string, Value[]>();
    let merged = 0;
    for (const n of [...g]) {
      if (n.subgraphs().length || RANDOM.test(n.op)) continue;
      const attrs = [...n.attrs.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, a]) => `${k}=${attrKey(a)}`);
      const key = `${n.domain}|${n.op}|${n.inputs.map(id).join(',')}|${attrs.join(';')}|${n.outputs.length}`;
      const prev = seen.get(key);
      if (!prev) {
        seen.set(key, n.outputs.map((o) => o!));
        continue;
      }
      if (n.outputs.some((o) => o && g.outputs.includes(o))) continue;
      n.outputs.forEach((o, i) => o && prev[i] && g.replaceAllUsesWith(o, prev[i]!));
      g.remove(n);
      merged++;
    }
    return result({ merged });
  },
};
