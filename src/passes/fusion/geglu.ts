/**
 * GEGLU (diffusers' feed-forward): h split in two along the last dim, a * gelu(gate), becomes one `msgraph.geglu`
 * node on h. The halves come from a two-way Split or from two Slices (torch's `chunk(2, dim=-1)` exports either);
 * the GELU is the one `fuse-activations` made (erf or tanh form). The MindSpore backend writes it as a `geglu`
 * helper; ONNX Runtime has no kernel for it on cpu/wasm/webgpu (BiasSplitGelu is CUDA-only), so this fusion is not
 * in the onnx target's pipeline.
 */
import type { Graph } from '../../ir/graph.js';
import type { Node } from '../../ir/node.js';
import type { Tensor } from '../../ir/tensor.js';
import type { Value } from '../../ir/value.js';
import type { KnownValue } from '../../dialect/ops/types.js';
import { inferShapes } from '../../dialect/ops/infer.js';
import { fromTensor, num } from '../../ir/array.js';
import type { NearMiss, Pass } from '../pass.js';
import { result } from '../pass.js';
import { constantsOf, replaceWithNode, scopedName, soleUser } from '../util.js';

export const GEGLU_OP = 'msgraph.geglu';
const INT64_MAX_ISH = 2 ** 53;

type ConstOf = (v: Value | null | undefined) => Tensor | null;
type KnownOf = (v: Value) => KnownValue | undefined;

/** One operand of a Slice or Split: its attribute or constant input; undefined when absent, null when not constant. */
function operand(n: Node, attr: string, index: number, constOf: ConstOf, knownOf: KnownOf): number[] | null | undefined {
  const a = n.attrs.get(attr);
  if (a?.type === 'ints') return a.value.map(Number);
  const v = n.inputs[index];
  if (!v) return undefined;
  const t = constOf(v);
  if (t) return Array.from(num(fromTensor(t)));
  // Shape arithmetic inference knows as numbers (chunk's bounds computed from x.shape[-1]).
  const k = knownOf(v);
  return k && k.elems.every((d) => typeof d === 'number') ? (k.elems as number[]) : null;
}

/** When `v` is one half of its source's last dim: the source, whether it is the leading half, the node. */
function halfOf(v: Value, g: Graph, constOf: ConstOf, knownOf: KnownOf): { src: Value; first: boolean; nodes: Node[] } | null {
  const p = v.producer;
  if (!p || v.uses.length !== 1 || g.outputs.includes(v)) return null;
  const src = p.inputs[0];
  const shape = src?.type?.kind === 'tensor' ? src.type.shape : null;
  const last = shape?.[shape.length - 1];
  if (!src || !shape || typeof last !== 'number' || last % 2 !== 0) return null;
  const lastAxis = (a: number) => a === -1 || a === shape.length - 1;
  const half = last / 2;
  if (p.op === 'mint.split') {
    const axis = Number(p.attrs.get('axis')?.value ?? 0);
    const sizes = operand(p, 'split', 1, constOf, knownOf);
    if (p.outputs.length !== 2 || !lastAxis(axis) || sizes === null || (sizes && !(sizes.length === 2 && sizes[0] === half && sizes[1] === half))) return null;
    return { src, first: p.outputs[0] === v, nodes: [p] };
  }
  if (p.op !== 'msgraph.slice') return null;
  const starts = operand(p, 'starts', 1, constOf, knownOf);
  const ends = operand(p, 'ends', 2, constOf, knownOf);
  const axes = operand(p, 'axes', 3, constOf, knownOf);
  const steps = operand(p, 'steps', 4, constOf, knownOf) ?? [1];
  if (!starts || !ends || !axes || !steps || axes.length !== 1 || !lastAxis(axes[0]!) || starts.length !== 1 || steps[0] !== 1) return null;
  const [s, e] = [starts[0]!, ends[0]!];
  if (s === 0 && e === half) return { src, first: true, nodes: [p] };
  if (s === half && (e === last || e >= INT64_MAX_ISH || e >= last)) return { src, first: false, nodes: [p] };
  return null;
}

/** The anchor is a GELU multiplied by another value; once found, every way the rest fails is a near miss. */
export function fuseGeglu(g: Graph, constOf: ConstOf, knownOf: KnownOf = () => undefined): { fused: number; nearMisses: NearMiss[] } {
  let fused = 0;
  const nearMisses: NearMiss[] = [];
  for (const gelu of [...g]) {
    if (gelu.op !== 'mint.nn.functional.gelu' || gelu.graph !== g) continue;
    const y = gelu.outputs[0]!;
    const mul = soleUser(y, g);
    if (!mul || mul.op !== 'mint.mul') continue;
    const miss = (reason: string) => nearMisses.push({ node: mul.name, reason: `GEGLU: ${reason}` });
    const a = mul.inputs[0] === y ? mul.inputs[1] : mul.inputs[0];
    const gate = halfOf(gelu.inputs[0]!, g, constOf, knownOf);
    const other = a ? halfOf(a, g, constOf, knownOf) : null;
    if (!gate || !other) {
      miss(`the ${!gate ? "GELU's input" : 'other factor'} is not one half of a last dim (a two-way Split or a Slice at the middle, read only there)`);
      continue;
    }
    if (gate.src !== other.src) {
      miss('the two halves come from different tensors');
      continue;
    }
    if (gate.first || !other.first) {
      miss('the GELU is applied to the leading half (diffusers gates the second)');
      continue;
    }
    // A Split feeds both halves: it goes once; its outputs must have no other readers.
    const nodes = new Set<Node>([...gate.nodes, ...other.nodes, gelu, mul]);
    const approximate = gelu.attrs.get('approximate');
    replaceWithNode(g, { op: GEGLU_OP, name: scopedName(mul, 'GEGLU'), inputs: [gate.src], attrs: approximate ? [['approximate', approximate]] : [] }, mul.outputs[0]!, mul, nodes, mul);
    fused++;
  }
  return { fused, nearMisses };
}

export const fuseGegluPass: Pass = {
  name: 'fuse-geglu',
  description: 'GEGLU: the two halves of the last dim, a * gelu(gate), into one geglu (after fuse-activations)',
  run(model) {
    const known = inferShapes(model).known;
    const r = fuseGeglu(model.graph, constantsOf(model), (v) => known.get(v));
    return { ...result({ geglu: r.fused }), nearMisses: r.nearMisses };
  },
};
