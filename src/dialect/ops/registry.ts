import type { OpDef } from './types.js';
import { ELEMENTWISE } from './defs/elementwise.js';
import { NN } from './defs/nn.js';
import { SHAPE_OPS } from './defs/shape-ops.js';
import { REDUCE } from './defs/reduce.js';
import { MISC } from './defs/misc.js';

export const ALL_OPS: readonly OpDef[] = [...ELEMENTWISE, ...NN, ...SHAPE_OPS, ...REDUCE, ...MISC];

const byKey = new Map<string, OpDef[]>();
for (const d of ALL_OPS) {
  const k = `${d.domain}::${d.op}`;
  const list = byKey.get(k) ?? [];
  list.push(d);
  byKey.set(k, list);
}

/** The definition covering (domain, op) at `opset`, or undefined when the op or that opset is not in the tables. */
export function lookupOp(domain: string, op: string, opset: number): OpDef | undefined {
  const d = domain === 'ai.onnx' ? '' : domain;
  return byKey.get(`${d}::${op}`)?.find((x) => opset >= x.since && opset <= x.until);
}

/** All definitions of an op (any opset), for diagnostics. */
export function opRanges(domain: string, op: string): OpDef[] {
  return byKey.get(`${domain === 'ai.onnx' ? '' : domain}::${op}`) ?? [];
}
