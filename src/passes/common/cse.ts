/** Common-subexpression elimination: nodes with the same op, attributes and inputs compute the same values. */
import type { Attribute } from '../../ir/attribute.js';
import type { Value } from '../../ir/value.js';
import { base64Encode } from '../../ir/bundle.js';
import type { Pass } from '../pass.js';
import { result } from '../pass.js';

const RANDOM = /random|multinomial|bernoulli|rand/i;

function attrKey(a: Attribute): string {
  switch (a.type) {
    case 'tensor': {
      const t = a.value;
      const head = `t:${t.dtype.name}:${t.dims.join('x')}:`;
      if (t.isString) return head + t.strings.map(base64Encode).join(',');
      // A tensor still on disk is known by where it is (the same bytes), not read in to be compared: two ranges
      // with equal contents are then not merged, which costs a missed merge, never a wrong one.
      const p = t.payload();
      if (!(p instanceof Uint8Array) && p.file) return `${head}@${p.file.path}:${p.file.offset}:${p.length}`;
      return head + base64Encode(t.bytes);
    }
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
      const attrs = [...n.attrs.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, a]) => `${k}=${attrKey(a)}`);
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
