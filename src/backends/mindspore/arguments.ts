/**
 * construct() arguments named once every instance of a class is known: after the graph input or the module that
 * feeds them where all instances agree, the first otherwise `hidden_states`.
 */
import type { Value } from '../../ir/value.js';
import { nodeScope } from '../../frontend/hierarchy.js';
import { identifier } from './python.js';
import { type Mod, NUMERIC } from './cells.js';

/**
 * construct()'s positional arguments `x0, x1, ...` (a lone `x` stays) take the name of the module that computes them where every
 * instance of the class gets that argument from a module of one name (the UNet's blocks all read `time_embedding`);
 * an argument whose source differs between instances (the previous block's output) keeps its positional name.
 */
export function nameArguments(body: string, mods: Mod[]): string {
  const sig = /^def construct\(self, ([^)]*)\):/m.exec(body);
  if (!sig) return body;
  const names = sig[1]!.split(', ').map((a) => a.replace(/=None$/, ''));
  const taken = new Set([...body.matchAll(/\b[A-Za-z_]\w*\b/g)].map((m) => m[0]));
  const renamed = names.map((old, i) => {
    if (!/^x\d+$/.test(old)) return old;
    // Instances that do not pass the argument (it defaults) say nothing about its name.
    const sources = new Set(mods.filter((m) => m.inputs.length > i).map((m) => sourceModule(m, m.inputs[i])));
    const [only] = [...sources];
    // The first argument, whatever computes it, is the block's hidden state.
    const name = sources.size === 1 && only && /^[A-Za-z_]\w*$/.test(only) ? only : i === 0 ? 'hidden_states' : null;
    if (!name || taken.has(name)) return old;
    taken.add(name);
    return name;
  });
  let out = body;
  names.forEach((old, i) => {
    if (renamed[i] !== old) out = out.replace(new RegExp(`\\b${old}\\b`, 'g'), renamed[i]!);
  });
  return out;
}

/** The graph input `v` is, or the child of `m`'s and the producer's common ancestor that computes it (`time_embedding`), or null. */
function sourceModule(m: Mod, v: Value | undefined): string | null {
  if (v && !v.producer && !v.const && v.graph?.inputs.includes(v)) return identifier(v.name);
  const p = v?.producer ? nodeScope(v.producer)?.path : null;
  if (!p?.length) return v ? preparedInput(v) : null;
  let d = 0;
  while (d < p.length && d < m.path.length && p[d] === m.path[d]) d++;
  return d < p.length && !NUMERIC.test(p[d]!) ? p[d]! : null;
}

/**
 * The graph input a value is prepared from by the model's own statements (BERT's extended attention mask: unsqueezes,
 * a cast, `(1 - mask) * -10000`), when it comes from exactly one; null otherwise.
 */
function preparedInput(v: Value): string | null {
  const found = new Set<Value>();
  const seen = new Set<Value>();
  const stack = [v];
  while (stack.length) {
    const x = stack.pop()!;
    if (seen.has(x) || x.const) continue;
    seen.add(x);
    if (!x.producer) {
      if (x.graph?.inputs.includes(x)) found.add(x);
      continue;
    }
    // A value a module computes is that module's, not the input's; a long chain is no preparation.
    if (nodeScope(x.producer)?.path.length || seen.size > 16) return null;
    for (const i of x.producer.inputs) if (i) stack.push(i);
  }
  return found.size === 1 ? identifier([...found][0]!.name) : null;
}
