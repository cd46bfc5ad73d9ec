/**
 * Op-level checks for `verify()` (the pass manager's `verifyEach`): what makes a node ill-formed beyond the graph's
 * own invariants. Operands that must share a dtype and do not, a permutation that is not one, an axis outside the
 * input's rank, more or fewer inputs than any version of the op takes. Shapes are checked by running inference again
 * (see the pass manager).
 */
import type { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import type { Value } from '../ir/value.js';
import { MINT_DOMAIN, onnxOpOf } from './names.js';
import { ALL_OPS } from './ops/registry.js';

/** Inputs an op takes, [fewest, most], over every opset and domain that defines it. */
const ARITY = new Map<string, [number, number]>();
for (const d of ALL_OPS) {
  const [lo, hi] = ARITY.get(d.op) ?? [Infinity, 0];
  ARITY.set(d.op, [Math.min(lo, d.inputs[0]), Math.max(hi, d.inputs[1])]);
}

/** Float or integer operands that must have one dtype: every input, or the listed ones. */
const SAME_DTYPE: Record<string, 'all' | readonly number[]> = {
  Add: 'all', Sub: 'all', Mul: 'all', Div: 'all', MatMul: 'all', Gemm: 'all', Concat: 'all', Max: 'all', Min: 'all',
  Sum: 'all', Mean: 'all', Equal: 'all', Less: 'all', Greater: 'all', LessOrEqual: 'all', GreaterOrEqual: 'all',
  PRelu: 'all', Where: [1, 2], Conv: 'all', ConvTranspose: 'all', LayerNormalization: 'all', InstanceNormalization: 'all',
  GroupNormalization: 'all', SimplifiedLayerNormalization: 'all', Expand: [0], Clip: 'all',
};

/** Ops whose `axis` attribute indexes input 0's dims ([-r, r)). */
const AXIS_OF_INPUT = new Set(['Concat', 'Softmax', 'LogSoftmax', 'Gather', 'GatherElements', 'Split', 'ArgMax', 'ArgMin', 'CumSum', 'Hardmax', 'LayerNormalization']);

const dtypeOf = (v: Value | null) => (v?.type?.kind === 'tensor' ? v.type.dtype : null);
const rankOf = (v: Value | null) => (v?.type?.kind === 'tensor' && v.type.shape ? v.type.shape.length : null);

/** The checks for the nodes of `model` (the opset decides what a dialect node stands for). */
export function nodeChecks(model: Model): (n: Node) => string[] {
  const opset = model.onnxOpset;
  return (n: Node) => {
    const problems: string[] = [];
    const dialect = n.domain === MINT_DOMAIN;
    if (!dialect && n.domain !== '') return problems;
    const op = dialect ? onnxOpOf(n.op, opset) : n.op;
    if (!op) return problems;
    const arity = ARITY.get(op);
    const given = n.inputs.reduce((last, v, i) => (v ? i + 1 : last), 0);
    if (arity && (given < arity[0] || given > arity[1])) problems.push(`${op} with ${given} inputs (it takes ${arity[0]}${arity[1] === arity[0] ? '' : `-${arity[1]}`})`);
    const same = SAME_DTYPE[op];
    if (same) {
      const idx = same === 'all' ? n.inputs.map((_, i) => i) : same;
      const dts = idx.map((i) => dtypeOf(n.inputs[i] ?? null)).filter((d) => d !== null);
      if (new Set(dts).size > 1) problems.push(`${op} operands of different dtypes (${idx.map((i) => dtypeOf(n.inputs[i] ?? null)?.name ?? '_').join(', ')})`);
    }
    const perm = n.attrs.get('perm');
    if ((op === 'Transpose') && perm?.type === 'ints') {
      const p = perm.value.map(Number);
      const r = rankOf(n.inputs[0] ?? null) ?? p.length;
      const sorted = [...p].sort((a, b) => a - b);
      if (p.length !== r || sorted.some((x, i) => x !== i)) problems.push(`perm [${p.join(',')}] is not a permutation of the input's ${r} dims`);
    }
    const axis = n.attrs.get('axis');
    if (!dialect && AXIS_OF_INPUT.has(op) && axis?.type === 'int') {
      const r = rankOf(n.inputs[0] ?? null);
      const a = Number(axis.value);
      if (r !== null && r > 0 && (a < -r || a >= r)) problems.push(`axis ${a} is outside the input's rank ${r}`);
    }
    return problems;
  };
}
