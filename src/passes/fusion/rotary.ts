/**
 * Rotary position embedding in its rotate-half form (Llama, GPT-NeoX): x * cos + cat(-x2, x1) * sin, x1 and x2 the
 * halves of x's last dim (a Split or two Slices), becomes one `msgraph.rotary_embedding(x, cos, sin)`. The MindSpore
 * backend writes it as one helper call; onnxruntime's RotaryEmbedding takes cos/sin caches indexed by position ids
 * rather than the computed cos and sin this form multiplies, so the onnx target keeps the formula.
 */
import { ROTARY_OP } from '../../dialect/fused.js';
import type { Rule } from '../pattern.js';
import { fuse, op, rulePass, shapeOf, where } from '../pattern.js';
import { half, halfOf } from './geglu.js';

const rotated = where(op('mint.cat', op('mint.neg', half('x2', 'x')), half('x1', 'x')), (n) => {
  const r = shapeOf(n.outputs[0])?.length;
  const axis = Number(n.attrs.get('axis')?.value ?? 0);
  return axis === -1 || axis === (r ?? 0) - 1 ? null : 'the halves are not concatenated along the last dim';
});

export const ROTARY_RULES: Rule[] = [{
  name: 'rotary_embedding', label: 'rotary embedding', anchor: 'mint.neg', anchorIf: (n) => n.outputs[0]!.uses.some((u) => u.node.op === 'mint.cat'),
  pattern: op('mint.add', op('mint.mul', 'x', 'cos'), op('mint.mul', rotated, 'sin')),
  check: (m, cx) => (halfOf(m.n.x1!, m.v.x1!, cx) === true && halfOf(m.n.x2!, m.v.x2!, cx) === false ? null : 'cat(-x2, x1) is not the rotated halves of x (-second half, then first)'),
  rewrite: (m, cx) => fuse(m, cx, { op: ROTARY_OP, inputs: [m.v.x!, m.v.cos!, m.v.sin!], leaf: 'RotaryEmbedding' }),
}];

export const fuseRotaryPass = rulePass('fuse-rotary', 'rotary position embedding: x·cos + cat(-x2, x1)·sin into one rotary_embedding', ROTARY_RULES, { known: true });
