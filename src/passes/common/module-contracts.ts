/**
 * Module contracts for the MindSpore port. torch's exporter computes a cheap function of an input that several
 * modules share (the SiLU of `temb`, a cast, an unsqueeze) once, inside the first module that needs it, and lets the
 * other modules read the result from there: those modules then take a pre-computed value, so their code (and class)
 * differs from the first's, and the first returns a value its PyTorch module does not. This pass gives every other
 * module that reads such a value its own copy of the node, in that module's scope, so each instance of a kind has
 * the signature of its PyTorch module. Only nodes whose inputs come from outside the module that computes them are
 * copied (a value the module itself produced is a real output).
 */
import type { Node } from '../../ir/node.js';
import { Node as IrNode } from '../../ir/node.js';
import { Value } from '../../ir/value.js';
import type { DialectOp } from '../../dialect/op-names.js';
import { CLASS_HIERARCHY, NAME_SCOPES, nodeScope } from '../../frontend/hierarchy.js';
import type { Pass } from '../pass.js';
import { result } from '../pass.js';

const CHEAP = new Set<string>([
  'mint.nn.functional.silu', 'mint.nn.functional.gelu', 'mint.nn.functional.relu', 'mint.nn.functional.hardswish', 'mint.nn.functional.mish',
  'mint.sigmoid', 'mint.tanh', 'mint.neg', 'ops.cast', 'mint.unsqueeze',
] satisfies DialectOp[]);

const pathOf = (n: Node) => nodeScope(n)?.path ?? null;
const startsWith = (p: readonly string[], q: readonly string[]) => q.every((s, i) => p[i] === s);

/** The instance a path is in: its longest prefix that ends at a ModuleList index (`down_blocks.0.resnets.1`). */
function instance(p: readonly string[]): string[] | null {
  for (let k = p.length; k > 0; k--) if (/^\d+$/.test(p[k - 1]!)) return p.slice(0, k);
  return null;
}

/**
 * Where a consumer at `p` gets its copy of a node at `s`: the same place in the consumer's instance
 * (`mid_block.resnets.0` + what follows the instance in `s`); null when the consumer is in the node's own instance,
 * or either is in no ModuleList.
 */
function copyPath(s: readonly string[], p: readonly string[]): string[] | null {
  const [home, there] = [instance(s), instance(p)];
  if (!home || !there || startsWith(there, home) || startsWith(home, there)) return null;
  return [...there, ...s.slice(home.length)];
}

export const moduleContracts: Pass = {
  name: 'module-contracts',
  description: 'a cheap value the exporter computed once and shared across modules: one copy per module that reads it',
  run(model) {
    const g = model.graph;
    let copies = 0;
    const order = new Map([...g].map((n, i) => [n, i]));
    for (const n of [...g]) {
      const out = n.outputs[0];
      const s = pathOf(n);
      if (!CHEAP.has(n.op) || n.outputs.length !== 1 || !out || !s || n.subgraphs().length) continue;
      // The inputs come from outside the instance that computes the node.
      const home = instance(s);
      if (!home || n.inputs.some((v) => v?.producer && startsWith(pathOf(v.producer) ?? [], home))) continue;
      // Its own instance reads it too: a value the instance returns for the next one to read (a Sequential's
      // activation, the output of a block) is that module's result, not a shared one.
      if (!out.uses.some((u) => startsWith(pathOf(u.node) ?? [], home))) continue;
      const groups = new Map<string, { path: string[]; uses: { node: Node; index: number }[] }>();
      for (const u of out.uses) {
        const p = pathOf(u.node);
        const c = p ? copyPath(s, p) : null;
        if (!c) continue;
        const key = c.join('/');
        groups.set(key, groups.get(key) ?? { path: c, uses: [] });
        groups.get(key)!.uses.push(u);
      }
      for (const { path, uses } of groups.values()) {
        const leaf = n.name.split('/').pop() || n.op.split('.').pop()!;
        const copy = new IrNode({
          op: n.op, domain: n.domain, name: `/${path.join('/')}/${leaf}`, inputs: n.inputs, attrs: [...n.attrs],
          outputs: [new Value(`${out.name}_${path.join('_')}`, out.type)],
        });
        // The scope is the name's; dynamo's scope metadata would place the copy back in the original module.
        for (const [k, v] of n.metadata) if (k !== NAME_SCOPES && k !== CLASS_HIERARCHY) copy.metadata.set(k, v);
        // Just before the instance's first reader: its statements keep the order the module computes them in.
        const first = uses.reduce((a, u) => ((order.get(u.node) ?? Infinity) < (order.get(a.node) ?? Infinity) ? u : a));
        g.insertBefore(first.node, copy);
        for (const u of uses) u.node.replaceInput(u.index, copy.outputs[0]!);
        copies++;
      }
    }
    return result({ shared_values_copied: copies });
  },
};
