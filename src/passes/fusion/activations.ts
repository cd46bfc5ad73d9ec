/**
 * Activation fusions on the mint dialect, for the exporter's decomposed forms:
 * - SiLU: x * sigmoid(x) -> mint.nn.functional.silu(x);
 * - GELU (erf): x * 0.5 * (1 + erf(x / sqrt(2))) in its exported orders (Div by sqrt(2) or Mul by 1/sqrt(2),
 *   the 0.5 applied before or after) -> mint.nn.functional.gelu(x) (approximate "none");
 * - GELU (tanh): 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3))) -> gelu(x, approximate "tanh");
 * - HardSigmoid: clamp(x + 3, 0, 6) / 6 -> hardsigmoid(x); HardSwish: x * hardsigmoid(x) (either spelling, or
 *   x * clamp(x + 3, 0, 6) / 6) -> hardswish(x).
 */
import type { Graph } from '../../ir/graph.js';
import type { Node } from '../../ir/node.js';
import type { Attribute } from '../../ir/attribute.js';
import type { Tensor } from '../../ir/tensor.js';
import type { Value } from '../../ir/value.js';
import { fromTensor, num } from '../../ir/array.js';
import type { NearMiss, Pass } from '../pass.js';
import { result } from '../pass.js';
import { constantsOf, replaceWithNode, scopedName, soleUser } from '../util.js';

type ConstOf = (v: Value | null | undefined) => Tensor | null;

export interface ActivationReport {
  silu: number;
  gelu: number;
  hardswish: number;
  hardsigmoid: number;
}

const near = (a: number | null, b: number, tol = 1e-4) => a !== null && Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));

export function fuseActivations(g: Graph, constOf: ConstOf): ActivationReport {
  const scalar = (v: Value | null | undefined): number | null => {
    const t = constOf(v);
    return t && t.size === 1 && t.dtype.kind === 'float' ? num(fromTensor(t))[0]! : null;
  };
  /** For a binary node with one scalar-constant side: [other operand, constant]. */
  const withConst = (n: Node | null | undefined, op: string): [Value, number] | null => {
    if (!n || n.op !== op || n.domain !== 'mint') return null;
    const a = scalar(n.inputs[1]);
    if (a !== null && n.inputs[0]) return [n.inputs[0], a];
    const b = op === 'mint.mul' || op === 'mint.add' ? scalar(n.inputs[0]) : null;
    if (b !== null && n.inputs[1]) return [n.inputs[1], b];
    return null;
  };
  const replace = (last: Node, nodes: Node[], x: Value, api: string, approximate?: string | [string, Attribute][]) => {
    const attrs: [string, Attribute][] = typeof approximate === 'string' ? [['approximate', { type: 'string', value: approximate }]] : approximate ?? [];
    replaceWithNode(g, { op: api, name: scopedName(last, api.split('.').pop()!), inputs: [x], attrs }, last.outputs[0]!, last, nodes, last);
  };
  const report: ActivationReport = { silu: 0, gelu: 0, hardswish: 0, hardsigmoid: 0 };
  /** clamp(x + 3, 0, 6) / 6 ending at `div`: [x, its nodes]. */
  const relu6Over6 = (div: Node | null | undefined): [Value, Node[]] | null => {
    const d = withConst(div, 'mint.div');
    if (!d || !near(d[1], 6)) return null;
    const clamp = d[0].producer;
    if (!clamp || clamp.op !== 'mint.clamp' || soleUser(d[0], g) !== div || clamp.inputs.slice(1).some(Boolean)) return null;
    if (!near(Number(clamp.attrs.get('min')?.value ?? NaN), 0) || !near(Number(clamp.attrs.get('max')?.value ?? NaN), 6)) return null;
    const a = withConst(clamp.inputs[0]?.producer, 'mint.add');
    if (!a || !near(a[1], 3) || soleUser(clamp.inputs[0], g) !== clamp) return null;
    return [a[0], [div!, clamp, clamp.inputs[0]!.producer!]];
  };
  const hardSigmoidOf = (v: Value | null | undefined, x: Value): boolean => {
    const h = v?.producer;
    return !!h && h.op === 'mint.nn.functional.hardsigmoid' && h.inputs[0] === x && soleUser(v, g) !== null &&
      near(Number(h.attrs.get('alpha')?.value ?? 0.2), 1 / 6) && near(Number(h.attrs.get('beta')?.value ?? 0.5), 0.5);
  };
  for (const n of [...g]) {
    if (n.domain !== 'mint' || !n.outputs[0] || n.graph !== g) continue;
    if (n.op === 'mint.div') {
      // x * clamp(x + 3, 0, 6) / 6.
      const d = withConst(n, 'mint.div');
      const m = d && near(d[1], 6) ? d[0].producer : null;
      if (m && m.op === 'mint.mul' && soleUser(d![0], g) === n) {
        for (const side of [0, 1]) {
          const clamp = m.inputs[side]?.producer;
          const x = m.inputs[1 - side];
          if (!clamp || clamp.op !== 'mint.clamp' || !x || soleUser(m.inputs[side], g) !== m) continue;
          const a = withConst(clamp.inputs[0]?.producer, 'mint.add');
          if (!a || a[0] !== x || !near(a[1], 3) || soleUser(clamp.inputs[0], g) !== clamp || clamp.inputs.slice(1).some(Boolean)) continue;
          if (!near(Number(clamp.attrs.get('min')?.value ?? NaN), 0) || !near(Number(clamp.attrs.get('max')?.value ?? NaN), 6)) continue;
          replace(n, [n, m, clamp, clamp.inputs[0]!.producer!], x, 'mint.nn.functional.hardswish');
          report.hardswish++;
          break;
        }
        if (n.graph !== g) continue;
      }
      // clamp(x + 3, 0, 6) / 6, and x times it.
      const hs = relu6Over6(n);
      if (hs) {
        const user = soleUser(n.outputs[0], g);
        const x = hs[0];
        if (user && user.op === 'mint.mul' && ((user.inputs[0] === x && user.inputs[1] === n.outputs[0]) || (user.inputs[1] === x && user.inputs[0] === n.outputs[0]))) {
          replace(user, [user, ...hs[1]], x, 'mint.nn.functional.hardswish');
          report.hardswish++;
        } else {
          replace(n, hs[1], x, 'mint.nn.functional.hardsigmoid', [['alpha', { type: 'float', value: 1 / 6 }], ['beta', { type: 'float', value: 0.5 }]]);
          report.hardsigmoid++;
        }
      }
      continue;
    }
    if (n.op === 'mint.mul') {
      // HardSwish: x * hardsigmoid(x) with torch's constants.
      const hsSide = [0, 1].find((side) => n.inputs[1 - side] && hardSigmoidOf(n.inputs[side], n.inputs[1 - side]!));
      if (hsSide !== undefined) {
        replace(n, [n, n.inputs[hsSide]!.producer!], n.inputs[1 - hsSide]!, 'mint.nn.functional.hardswish');
        report.hardswish++;
        continue;
      }
      // SiLU: Mul(x, Sigmoid(x)) either way round.
      for (const side of [0, 1]) {
        const s = n.inputs[side]?.producer;
        const x = n.inputs[1 - side];
        if (s && s.op === 'mint.sigmoid' && s.inputs[0] === x && x && soleUser(s.outputs[0], g) === n) {
          replace(n, [n, s], x, 'mint.nn.functional.silu');
          report.silu++;
          break;
        }
      }
      if (n.graph !== g) continue;
      if (geluErf(n) || geluTanh(n)) report.gelu++;
    }
  }
  return report;

  /** The last Mul of x * 0.5 * (1 + erf(x / sqrt 2)), in either association. */
  function geluErf(last: Node): boolean {
    // Form A: Mul(Mul(x, Add(Erf(x/√2), 1)), 0.5). Form B: Mul(Mul(x, 0.5), Add(Erf(..), 1)).
    const half = withConst(last, 'mint.mul');
    let x: Value | null = null;
    let add: Node | null = null;
    const nodes = [last];
    if (half && near(half[1], 0.5)) {
      const inner = half[0].producer;
      if (!inner || inner.op !== 'mint.mul' || soleUser(half[0], g) !== last) return false;
      for (const side of [0, 1]) {
        const a = inner.inputs[side]?.producer;
        if (a && a.op === 'mint.add') {
          add = a;
          x = inner.inputs[1 - side]!;
        }
      }
      if (!add || soleUser(add.outputs[0], g) !== inner) return false;
      nodes.push(inner);
    } else {
      for (const side of [0, 1]) {
        const a = last.inputs[side]?.producer;
        const h = withConst(last.inputs[1 - side]?.producer, 'mint.mul');
        if (a && a.op === 'mint.add' && h && near(h[1], 0.5) && soleUser(last.inputs[1 - side], g) === last) {
          add = a;
          x = h[0];
          nodes.push(last.inputs[1 - side]!.producer!);
        }
      }
      if (!add || soleUser(add.outputs[0], g) !== last) return false;
    }
    const one = withConst(add, 'mint.add');
    const erf = one && near(one[1], 1) ? one[0].producer : null;
    if (!erf || erf.op !== 'mint.erf' || soleUser(erf.outputs[0], g) !== add) return false;
    const scaled = erf.inputs[0]?.producer;
    const div = withConst(scaled, 'mint.div');
    const mul = withConst(scaled, 'mint.mul');
    const ok = (div && near(div[1], Math.SQRT2) && div[0] === x) || (mul && near(mul[1], Math.SQRT1_2) && mul[0] === x);
    if (!ok || !scaled || soleUser(scaled.outputs[0], g) !== erf) return false;
    replace(last, [...nodes, add, erf, scaled], x!, 'mint.nn.functional.gelu');
    return true;
  }

  /** The last Mul of 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3))). */
  function geluTanh(last: Node): boolean {
    for (const side of [0, 1]) {
      const add = last.inputs[side]?.producer;
      const halfX = withConst(last.inputs[1 - side]?.producer, 'mint.mul');
      if (!add || !halfX || !near(halfX[1], 0.5) || soleUser(last.inputs[1 - side], g) !== last) continue;
      const x = halfX[0];
      const one = withConst(add, 'mint.add');
      const tanh = one && near(one[1], 1) ? one[0].producer : null;
      if (!tanh || tanh.op !== 'mint.tanh' || soleUser(add.outputs[0], g) !== last || soleUser(tanh.outputs[0], g) !== add) continue;
      const k = withConst(tanh.inputs[0]?.producer, 'mint.mul');
      if (!k || !near(k[1], Math.sqrt(2 / Math.PI)) || soleUser(tanh.inputs[0], g) !== tanh) continue;
      const inner = k[0].producer;
      if (!inner || inner.op !== 'mint.add' || soleUser(k[0], g) !== tanh.inputs[0]!.producer) continue;
      const cubicSide = inner.inputs[0] === x ? 1 : inner.inputs[1] === x ? 0 : -1;
      if (cubicSide < 0) continue;
      const c = withConst(inner.inputs[cubicSide]?.producer, 'mint.mul');
      if (!c || !near(c[1], 0.044715) || soleUser(inner.inputs[cubicSide], g) !== inner) continue;
      const pow = c[0].producer;
      if (!pow || pow.op !== 'mint.pow' || pow.inputs[0] !== x || !near(scalar(pow.inputs[1]), 3) || soleUser(c[0], g) !== inner.inputs[cubicSide]!.producer) continue;
      replace(last, [last, halfX && last.inputs[1 - side]!.producer!, add, tanh, tanh.inputs[0]!.producer!, inner, inner.inputs[cubicSide]!.producer!, pow], x, 'mint.nn.functional.gelu', 'tanh');
      return true;
    }
    return false;
  }
}

/**
 * What is left of an activation's form after the fusions ran, and why it did not fuse: an erf (every exported
 * GELU-erf has one), a tanh of sqrt(2/pi)·(...) (GELU-tanh), x·sigmoid(x) whose sigmoid has other readers (SiLU),
 * clamp(x + 3, 0, 6) (HardSigmoid/HardSwish). A sigmoid gating another value (x·sigmoid(y)) or a plain tanh is not
 * a near miss: it is another op.
 */
export function activationNearMisses(g: Graph, constOf: ConstOf): NearMiss[] {
  const scalar = (v: Value | null | undefined): number | null => {
    const t = constOf(v);
    return t && t.size === 1 && t.dtype.kind === 'float' ? num(fromTensor(t))[0]! : null;
  };
  const out: NearMiss[] = [];
  for (const n of g) {
    if (n.domain !== 'mint') continue;
    if (n.op === 'mint.erf') {
      out.push({ node: n.name, reason: 'GELU (erf): the erf is not inside x * 0.5 * (1 + erf(x / sqrt(2))) read only there' });
    } else if (n.op === 'mint.tanh') {
      const k = n.inputs[0]?.producer;
      if (k?.op === 'mint.mul' && k.inputs.some((v) => near(scalar(v), Math.sqrt(2 / Math.PI)))) {
        out.push({ node: n.name, reason: 'GELU (tanh): the tanh is not inside 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3))) read only there' });
      }
    } else if (n.op === 'mint.sigmoid') {
      const x = n.inputs[0];
      const selfGated = n.outputs[0]!.uses.some((u) => u.node.op === 'mint.mul' && u.node.inputs.includes(x ?? null) && u.node.inputs.includes(n.outputs[0]!));
      if (selfGated) out.push({ node: n.name, reason: 'SiLU: x * sigmoid(x), but the sigmoid has other readers' });
    } else if (n.op === 'mint.clamp' && near(Number(n.attrs.get('min')?.value ?? NaN), 0) && near(Number(n.attrs.get('max')?.value ?? NaN), 6)) {
      const a = n.inputs[0]?.producer;
      if (a?.op === 'mint.add' && a.inputs.some((v) => near(scalar(v), 3))) {
        out.push({ node: n.name, reason: 'HardSigmoid/HardSwish: clamp(x + 3, 0, 6) is not divided by 6 (or a step has other readers)' });
      }
    }
  }
  return out;
}

export const fuseActivationsPass: Pass = {
  name: 'fuse-activations',
  description: 'SiLU from x·sigmoid(x), GELU from its erf and tanh forms, HardSigmoid and HardSwish from clamp chains',
  run(model) {
    const constOf = constantsOf(model);
    const r = result({ ...fuseActivations(model.graph, constOf) });
    return { ...r, nearMisses: activationNearMisses(model.graph, constOf) };
  },
};
