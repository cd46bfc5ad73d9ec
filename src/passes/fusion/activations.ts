/**
 * Activation fusions on the mint dialect, for the exporters' decomposed forms:
 * - SiLU: x * sigmoid(x) -> silu(x);
 * - GELU (erf): x, 0.5 and 1 + erf(x / sqrt(2)) (or x * 1/sqrt(2)) multiplied in any association: TorchScript
 *   writes (x * (1 + erf)) * 0.5 or (x * 0.5) * (1 + erf), dynamo's torch_lib x * (0.5 * (1 + erf)) -> gelu(x);
 * - GELU (tanh): x, 0.5 and 1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3)), likewise -> gelu(x, approximate "tanh");
 * - HardSigmoid: clamp(x + 3, 0, 6) / 6; HardSwish: x * hardsigmoid(x) or x * clamp(x + 3, 0, 6) / 6.
 */
import type { Attribute } from '../../ir/attribute.js';
import type { Node } from '../../ir/node.js';
import type { DialectOp } from '../../dialect/op-names.js';
import { GELU_OP, HARDSIGMOID_OP, HARDSWISH_OP, SILU_OP } from '../../dialect/fused.js';
import type { Operand, Pat, Rule, RuleContext } from '../pattern.js';
import { constScalar, fuse, k, near, oneOf, op, rulePass, where } from '../pattern.js';

const mul = (a: Operand, b: Operand) => op('mint.mul', a, b);
const add = (a: Operand, b: Operand) => op('mint.add', a, b);
const div = (a: Operand, b: Operand) => op('mint.div', a, b);
const attr = (n: Node, name: string, dflt = NaN) => Number(n.attrs.get(name)?.value ?? dflt);
const SQRT_2_PI = Math.sqrt(2 / Math.PI);

/** x · 0.5 · core, in the three associations (each product commutes). */
const halfOf = (core: Pat): Pat[] => [mul(mul('x', k(0.5)), core), mul(mul('x', core), k(0.5)), mul('x', mul(k(0.5), core))];
const erfCore = add(op('mint.erf', oneOf(div('x', k(Math.SQRT2)), mul('x', k(Math.SQRT1_2)))), k(1));
const tanhCore = add(op('mint.tanh', mul(add('x', mul(op('mint.pow', 'x', k(3)), k(0.044715))), k(SQRT_2_PI))), k(1));
const relu6 = where(op('mint.clamp', add('x', k(3))), (n) => (near(attr(n, 'min'), 0) && near(attr(n, 'max'), 6) ? null : 'the clamp is not to [0, 6]'));
const HS_ATTRS: [string, Attribute][] = [['alpha', { type: 'float', value: 1 / 6 }], ['beta', { type: 'float', value: 0.5 }]];
const torchHardSigmoid = where(op(HARDSIGMOID_OP, 'x'), (n) => (near(attr(n, 'alpha', 0.2), 1 / 6) && near(attr(n, 'beta', 0.5), 0.5) ? null : "the hardsigmoid does not have torch's 1/6 and 0.5"));

const onX = (api: DialectOp, leaf: string, attrs: [string, Attribute][] = []): Rule['rewrite'] =>
  (m, cx) => fuse(m, cx, { op: api, inputs: [m.v.x!], attrs, leaf });
const readsConst = (n: Node, value: number, cx: RuleContext) => !!n.inputs[0]?.producer?.inputs.some((v) => near(constScalar(cx.constOf, v), value));

export const ACTIVATION_RULES: Rule[] = [
  { name: 'silu', label: 'SiLU', pattern: mul('x', op('mint.sigmoid', 'x')), rewrite: onX(SILU_OP, 'silu'), anchor: 'mint.sigmoid',
    anchorIf: (n) => n.outputs[0]!.uses.some((u) => u.node.op === 'mint.mul' && u.node.inputs.includes(n.inputs[0] ?? null)) },
  { name: 'gelu', label: 'GELU (erf)', pattern: halfOf(erfCore), rewrite: onX(GELU_OP, 'gelu'), anchor: 'mint.erf' },
  { name: 'gelu', label: 'GELU (tanh)', pattern: halfOf(tanhCore), rewrite: onX(GELU_OP, 'gelu', [['approximate', { type: 'string', value: 'tanh' }]]), anchor: 'mint.tanh',
    anchorIf: (n, cx) => n.inputs[0]?.producer?.op === 'mint.mul' && readsConst(n, SQRT_2_PI, cx) },
  { name: 'hardswish', label: 'HardSwish', pattern: [mul('x', torchHardSigmoid), div(mul('x', relu6), k(6))], rewrite: onX(HARDSWISH_OP, 'hardswish') },
  { name: 'hardsigmoid', label: 'HardSigmoid/HardSwish', pattern: div(relu6, k(6)), rewrite: onX(HARDSIGMOID_OP, 'hardsigmoid', HS_ATTRS), anchor: 'mint.clamp',
    anchorIf: (n, cx) => near(attr(n, 'min'), 0) && near(attr(n, 'max'), 6) && readsConst(n, 3, cx) },
];

export const fuseActivationsPass = rulePass('fuse-activations', 'SiLU from x·sigmoid(x), GELU from its erf and tanh forms, HardSigmoid and HardSwish from clamp chains', ACTIVATION_RULES);
