/** Elementwise kernels: math, activations, comparisons, logic, Where, Clip, Cast. */
import { dtypeFromOnnx } from '../ir/dtype.js';
import { broadcastIndex, broadcastShapes, castValue, dt, EvalError, make, num, type NDArray } from '../ir/array.js';
import type { Kernel } from './kernel.js';

const isInt = (a: NDArray) => a.dtype.kind === 'int' || a.dtype.kind === 'uint' || a.dtype.kind === 'bool';

/** Applies `f` to every element, rounding to the input's dtype. */
function mapValues(x: NDArray, f: (v: number) => number): NDArray {
  const d = num(x);
  const out = new Float64Array(d.length);
  for (let i = 0; i < d.length; i++) out[i] = castValue(f(d[i]!), x.dtype);
  return make(x.dtype, [...x.shape], out);
}

function unary(f: (x: number) => number): Kernel {
  return ([x]) => [mapValues(x!, f)];
}

function nary(ins: NDArray[], f: (xs: number[]) => number, outDtype = ins[0]!.dtype): NDArray {
  const shape = broadcastShapes(ins.map((a) => a.shape));
  const idx = ins.map((a) => broadcastIndex(a.shape, shape));
  const data = ins.map(num);
  const out = make(outDtype, shape);
  const o = num(out);
  const xs = new Array<number>(ins.length);
  for (let i = 0; i < o.length; i++) {
    for (let k = 0; k < ins.length; k++) xs[k] = data[k]![idx[k]![i]!]!;
    o[i] = castValue(f(xs), outDtype);
  }
  return out;
}

function binary(f: (x: number, y: number, a: NDArray) => number, bool = false): Kernel {
  return ([a, b]) => [nary([a!, b!], ([x, y]) => f(x!, y!, a!), bool ? dt('bool') : a!.dtype)];
}

const erf = (x: number): number => {
  // Abramowitz-Stegun 7.1.26 is too coarse for 1e-5; use the series / continued fraction pair.
  const t = Math.abs(x);
  if (t < 2.5) {
    let sum = t;
    let term = t;
    for (let n = 1; n < 60; n++) {
      term *= (-t * t) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  let f = 0;
  for (let n = 60; n >= 1; n--) f = (n / 2) / (t + f);
  return Math.sign(x) * (1 - Math.exp(-t * t) / Math.sqrt(Math.PI) / (t + f));
};

const roundHalfEven = (x: number) => {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
};

function div(x: number, y: number, a: NDArray): number {
  if (!isInt(a)) return x / y;
  if (y === 0) throw new EvalError('integer division by zero');
  return Math.trunc(x / y);
}

function mod(fmod: boolean, x: number, y: number, a: NDArray): number {
  if (fmod || !isInt(a)) return fmod ? x % y : x - Math.floor(x / y) * y;
  if (y === 0) throw new EvalError('integer modulo by zero');
  const r = x % y;
  return r !== 0 && (r < 0) !== (y < 0) ? r + y : r;
}

export const ELEMENTWISE_KERNELS: Record<string, Kernel> = {
  Abs: unary(Math.abs),
  Neg: unary((x) => -x),
  Floor: unary(Math.floor),
  Ceil: unary(Math.ceil),
  Round: unary(roundHalfEven),
  Sign: unary(Math.sign),
  Sqrt: unary(Math.sqrt),
  Reciprocal: unary((x) => 1 / x),
  Exp: unary(Math.exp),
  Log: unary(Math.log),
  Erf: unary(erf),
  Tanh: unary(Math.tanh),
  Sigmoid: unary((x) => 1 / (1 + Math.exp(-x))),
  Sin: unary(Math.sin), Cos: unary(Math.cos), Tan: unary(Math.tan),
  Asin: unary(Math.asin), Acos: unary(Math.acos), Atan: unary(Math.atan),
  Sinh: unary(Math.sinh), Cosh: unary(Math.cosh), Asinh: unary(Math.asinh), Acosh: unary(Math.acosh), Atanh: unary(Math.atanh),
  Relu: unary((x) => Math.max(x, 0)),
  Softsign: unary((x) => x / (1 + Math.abs(x))),
  Softplus: unary((x) => (x > 20 ? x : Math.log1p(Math.exp(x)))),
  Mish: unary((x) => x * Math.tanh(x > 20 ? x : Math.log1p(Math.exp(x)))),
  HardSwish: unary((x) => x * Math.max(0, Math.min(1, x / 6 + 0.5))),
  BitwiseNot: ([x]) => [mapValues(x!, x!.dtype.kind === 'uint' ? (v) => ~v >>> 0 : (v) => ~v)],
  LeakyRelu: ([x], a) => {
    const al = a.f('alpha', 0.01);
    return [mapValues(x!, (v) => (v < 0 ? al * v : v))];
  },
  Elu: ([x], a) => {
    const al = a.f('alpha', 1);
    return [mapValues(x!, (v) => (v < 0 ? al * (Math.exp(v) - 1) : v))];
  },
  Celu: ([x], a) => {
    const al = a.f('alpha', 1);
    return [mapValues(x!, (v) => Math.max(0, v) + Math.min(0, al * (Math.exp(v / al) - 1)))];
  },
  Selu: ([x], a) => {
    const al = a.f('alpha', 1.67326319217681884765625);
    const g = a.f('gamma', 1.05070102214813232421875);
    return [mapValues(x!, (v) => (v > 0 ? g * v : g * (al * Math.exp(v) - al)))];
  },
  ThresholdedRelu: ([x], a) => {
    const al = a.f('alpha', 1);
    return [mapValues(x!, (v) => (v > al ? v : 0))];
  },
  HardSigmoid: ([x], a) => {
    const al = a.f('alpha', 0.2);
    const be = a.f('beta', 0.5);
    return [mapValues(x!, (v) => Math.max(0, Math.min(1, al * v + be)))];
  },
  Shrink: ([x], a) => {
    const l = a.f('lambd', 0.5);
    const b = a.f('bias', 0);
    return [mapValues(x!, (v) => (v < -l ? v + b : v > l ? v - b : 0))];
  },
  Gelu: ([x], a) => [
    mapValues(x!, a.s('approximate', 'none') === 'tanh'
      ? (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)))
      : (v) => 0.5 * v * (1 + erf(v / Math.SQRT2))),
  ],
  IsNaN: ([x]) => [nary([x!], ([v]) => +Number.isNaN(v!), dt('bool'))],
  IsInf: ([x], a) => {
    const pos = a.i('detect_positive', 1);
    const neg = a.i('detect_negative', 1);
    return [nary([x!], ([v]) => +((pos && v === Infinity) || (neg && v === -Infinity)), dt('bool'))];
  },
  Not: ([x]) => [nary([x!], ([v]) => +(v === 0), dt('bool'))],
  Add: binary((x, y) => x + y),
  Sub: binary((x, y) => x - y),
  Mul: binary((x, y) => x * y),
  Div: binary(div),
  Pow: ([a, b]) => [nary([a!, b!], ([x, y]) => x! ** y!, a!.dtype)],
  Mod: ([a, b], at) => [nary([a!, b!], ([x, y]) => mod(at.i('fmod', 0) === 1, x!, y!, a!), a!.dtype)],
  BitShift: ([a, b], at) => {
    const left = at.s('direction', '') === 'LEFT';
    return [nary([a!, b!], ([x, y]) => (left ? x! * 2 ** y! : Math.floor(x! / 2 ** y!)), a!.dtype)];
  },
  BitwiseAnd: binary((x, y) => Number(BigInt(x) & BigInt(y))),
  BitwiseOr: binary((x, y) => Number(BigInt(x) | BigInt(y))),
  BitwiseXor: binary((x, y) => Number(BigInt(x) ^ BigInt(y))),
  PRelu: binary((x, s) => (x < 0 ? s * x : x)),
  Equal: binary((x, y) => +(x === y), true),
  Less: binary((x, y) => +(x < y), true),
  Greater: binary((x, y) => +(x > y), true),
  LessOrEqual: binary((x, y) => +(x <= y), true),
  GreaterOrEqual: binary((x, y) => +(x >= y), true),
  And: binary((x, y) => +(x !== 0 && y !== 0), true),
  Or: binary((x, y) => +(x !== 0 || y !== 0), true),
  Xor: binary((x, y) => +((x !== 0) !== (y !== 0)), true),
  Max: (ins) => [nary(ins as NDArray[], (xs) => (xs.some(Number.isNaN) ? NaN : Math.max(...xs)))],
  Min: (ins) => [nary(ins as NDArray[], (xs) => (xs.some(Number.isNaN) ? NaN : Math.min(...xs)))],
  Sum: (ins) => [nary(ins as NDArray[], (xs) => xs.reduce((s, v) => s + v, 0))],
  Mean: (ins) => [nary(ins as NDArray[], (xs) => xs.reduce((s, v) => s + v, 0) / xs.length)],
  Where: ([c, x, y]) => [nary([c!, x!, y!], ([k, p, q]) => (k ? p! : q!), x!.dtype)],
  Clip: ([x, lo, hi], a) => {
    const min = a.has('min') ? a.f('min', -Infinity) : lo ? num(lo)[0]! : -Infinity;
    const max = a.has('max') ? a.f('max', Infinity) : hi ? num(hi)[0]! : Infinity;
    return [mapValues(x!, (v) => Math.min(Math.max(v, min), max))];
  },
  Cast: ([x], a) => [castTo(x!, dt(dtypeNameOf(a.i('to', 0))))],
  CastLike: ([x, like]) => [castTo(x!, like!.dtype)],
};

function dtypeNameOf(code: number): string {
  const d = dtypeFromOnnx(code);
  if (!d) throw new EvalError(`unknown data type ${code}`);
  return d.name;
}

/** Python / numpy repr of a float: shortest digits that round-trip at the source precision. */
export function pyFloatRepr(x: number, single: boolean): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  let digits = '';
  for (let p = 1; p <= 17; p++) {
    digits = x.toPrecision(p);
    if ((single ? Math.fround(Number(digits)) : Number(digits)) === x) break;
  }
  const [mant, expPart] = Number(digits).toExponential().split('e') as [string, string];
  const exp = Number(expPart);
  if (exp < -4 || exp >= 16) {
    const m = mant.includes('.') ? mant : mant;
    return `${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  const plain = Number(digits).toFixed(Math.max(0, -exp + (mant.replace('-', '').replace('.', '').length - 1)));
  return plain.includes('.') ? plain.replace(/0+$/, '').replace(/\.$/, '.0') : `${plain}.0`;
}

function castTo(x: NDArray, to: ReturnType<typeof dt>): NDArray {
  if (to.name === 'string') {
    const d = num(x);
    const isFloat = x.dtype.kind === 'float';
    return make(to, [...x.shape], Array.from(d, (v) => (isFloat ? pyFloatRepr(v, x.dtype.name !== 'float64') : String(v))));
  }
  if (!(x.data instanceof Float64Array)) {
    return make(to, [...x.shape], Float64Array.from(x.data, (s) => castValue(Number(s), to)));
  }
  const d = x.data;
  const out = new Float64Array(d.length);
  for (let i = 0; i < d.length; i++) out[i] = castValue(d[i]!, to);
  return make(to, [...x.shape], out);
}
