/**
 * GEGLU (diffusers' feed-forward): h split in two along the last dim, a * gelu(gate), becomes one `msgraph.geglu`
 * node on h. The halves come from a two-way Split or from two Slices (torch's `chunk(2, dim=-1)` exports either);
 * the GELU is the one `fuse-activations` made (erf or tanh form). The MindSpore backend writes it as a `geglu`
 * helper; ONNX Runtime has no kernel for it on cpu/wasm/webgpu (BiasSplitGelu is CUDA-only), so this fusion is not
 * in the onnx target's pipeline.
 */
import type { Node } from '../../ir/node.js';
import type { Value } from '../../ir/value.js';
import { fromTensor, num } from '../../ir/array.js';
import { GEGLU_OP, GELU_OP } from '../../dialect/fused.js';
import type { Rule, RuleContext } from '../pattern.js';
import { fuse, named, op, rest, rulePass, shapeOf } from '../pattern.js';

export { GEGLU_OP };
const INT64_MAX_ISH = 2 ** 53;

/** One operand of a Slice or Split: its attribute or constant input; undefined when absent, null when not constant. */
function operand(n: Node, attr: string, index: number, cx: RuleContext): number[] | null | undefined {
  const a = n.attrs.get(attr);
  if (a?.type === 'ints') return a.value.map(Number);
  const v = n.inputs[index];
  if (!v) return undefined;
  const t = cx.constOf(v);
  if (t) return Array.from(num(fromTensor(t)));
  // Shape arithmetic inference knows as numbers (chunk's bounds computed from x.shape[-1]).
  const k = cx.known?.(v);
  return k && k.elems.every((d) => typeof d === 'number') ? (k.elems as number[]) : null;
}

/** Whether `v` (read from `p`) is the leading (true) or trailing (false) half of its source's last dim, or neither. */
export function halfOf(p: Node, v: Value, cx: RuleContext): boolean | null {
  const shape = shapeOf(p.inputs[0]);
  const last = shape?.[shape.length - 1];
  if (!shape || typeof last !== 'number' || last % 2 !== 0) return null;
  const lastAxis = (a: number) => a === -1 || a === shape.length - 1;
  const half = last / 2;
  if (p.op === 'mint.split') {
    const sizes = operand(p, 'split', 1, cx);
    const ok = p.outputs.length === 2 && lastAxis(Number(p.attrs.get('axis')?.value ?? 0)) && sizes !== null && (!sizes || (sizes.length === 2 && sizes[0] === half && sizes[1] === half));
    return ok ? p.outputs[0] === v : null;
  }
  const [starts, ends, axes, steps] = [operand(p, 'starts', 1, cx), operand(p, 'ends', 2, cx), operand(p, 'axes', 3, cx), operand(p, 'steps', 4, cx) ?? [1]];
  if (!starts || !ends || !axes || !steps || axes.length !== 1 || !lastAxis(axes[0]!) || starts.length !== 1 || steps[0] !== 1) return null;
  return starts[0] === 0 && ends[0] === half ? true : starts[0] === half && ends[0]! >= Math.min(last, INT64_MAX_ISH) ? false : null;
}

/** One half of `of`'s last dim, from a Split or a Slice (which half: `halfOf`). */
export const half = (as: string, of = 'h') => named(op(['mint.split', 'msgraph.slice'], of, rest, rest, rest, rest), as);

export const GEGLU_RULES: Rule[] = [{
  name: 'geglu', label: 'GEGLU', anchor: GELU_OP, anchorIf: (n) => n.outputs[0]!.uses.some((u) => u.node.op === 'mint.mul'),
  pattern: op('mint.mul', half('a'), named(op(GELU_OP, half('gate')), 'gelu')),
  check(m, cx) {
    const [a, gate] = [halfOf(m.n.a!, m.v.a!, cx), halfOf(m.n.gate!, m.v.gate!, cx)];
    if (a === null || gate === null) return `the ${gate === null ? "GELU's input" : 'other factor'} is not one half of a last dim (a two-way Split or a Slice at the middle)`;
    return gate || !a ? 'the GELU is applied to the leading half (diffusers gates the second)' : null;
  },
  rewrite: (m, cx) => fuse(m, cx, { op: GEGLU_OP, inputs: [m.v.h!], attrs: [...m.n.gelu!.attrs].filter(([k]) => k === 'approximate'), leaf: 'GEGLU' }),
}];

export const fuseGegluPass = rulePass('fuse-geglu', 'GEGLU: the two halves of the last dim, a * gelu(gate), into one geglu (after fuse-activations)', GEGLU_RULES, { known: true });
