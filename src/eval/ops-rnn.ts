/** LSTM, GRU and RNN with both layouts, directions, sequence lengths, initial states, peepholes and clipping. */
import { castValue, EvalError, make, num, type NDArray } from '../ir/array.js';
import type { Attrs, Kernel } from './kernel.js';

type Act = (x: number) => number;

function activation(name: string, alpha?: number, beta?: number): Act {
  switch (name.toLowerCase()) {
    case 'sigmoid': return (x) => 1 / (1 + Math.exp(-x));
    case 'tanh': return Math.tanh;
    case 'relu': return (x) => Math.max(0, x);
    case 'hardsigmoid': return (x) => Math.max(0, Math.min(1, (alpha ?? 0.2) * x + (beta ?? 0.5)));
    case 'leakyrelu': return (x) => (x < 0 ? (alpha ?? 0.01) * x : x);
    case 'thresholdedrelu': return (x) => (x > (alpha ?? 1) ? x : 0);
    case 'scaledtanh': return (x) => (alpha ?? 1) * Math.tanh((beta ?? 1) * x);
    case 'elu': return (x) => (x < 0 ? (alpha ?? 1) * (Math.exp(x) - 1) : x);
    case 'softsign': return (x) => x / (1 + Math.abs(x));
    case 'softplus': return (x) => Math.log1p(Math.exp(x));
    case 'affine': return (x) => (alpha ?? 1) * x + (beta ?? 0);
    default: throw new EvalError(`unknown RNN activation ${name}`);
  }
}

type Cell = 'lstm' | 'gru' | 'rnn';
const GATES: Record<Cell, number> = { lstm: 4, gru: 3, rnn: 1 };
const DEFAULT_ACTS: Record<Cell, string[]> = { lstm: ['Sigmoid', 'Tanh', 'Tanh'], gru: ['Sigmoid', 'Tanh'], rnn: ['Tanh'] };

function recurrent(cell: Cell): Kernel {
  return (ins, a: Attrs) => {
    const [X0, W, R, B, seqLens, h0, c0, P] = ins;
    const layout = a.i('layout', 0);
    const dirAttr = a.s('direction', 'forward');
    const dirs = dirAttr === 'bidirectional' ? 2 : 1;
    const H = a.iOpt('hidden_size') ?? R!.shape[2]!;
    const G = GATES[cell];
    const clip = a.has('clip') ? a.f('clip', 0) : Infinity;
    const linearBeforeReset = a.i('linear_before_reset', 0) === 1;
    const inputForget = a.i('input_forget', 0) === 1;
    const nActs = DEFAULT_ACTS[cell].length;
    const actNames = a.strs('activations') ?? [];
    const alphas = a.floats('activation_alpha') ?? [];
    const betas = a.floats('activation_beta') ?? [];
    const acts: Act[][] = [];
    for (let d = 0; d < dirs; d++) {
      acts.push(Array.from({ length: nActs }, (_, k) => {
        const idx = d * nActs + k;
        return activation(actNames[idx] ?? DEFAULT_ACTS[cell][k]!, alphas[idx], betas[idx]);
      }));
    }
    // Normalise to [seq, batch, input].
    const X = num(X0!);
    const [S, Bt, I] = layout === 0 ? (X0!.shape as [number, number, number]) : ([X0!.shape[1], X0!.shape[0], X0!.shape[2]] as [number, number, number]);
    const xAt = (t: number, b: number, i: number) => (layout === 0 ? X[(t * Bt + b) * I + i]! : X[(b * S + t) * I + i]!);
    const w = num(W!);
    const rr = num(R!);
    const bias = B ? num(B) : null;
    const lens = seqLens ? Array.from(num(seqLens)) : new Array<number>(Bt).fill(S);
    const Y = new Float64Array(S * dirs * Bt * H);
    const Yh = new Float64Array(dirs * Bt * H);
    const Yc = new Float64Array(dirs * Bt * H);
    const hInit = h0 ? num(h0) : null;
    const cInit = c0 ? num(c0) : null;
    const p = P ? num(P) : null;
    const cl = (v: number) => Math.max(-clip, Math.min(clip, v));
    for (let d = 0; d < dirs; d++) {
      const reverse = dirAttr === 'reverse' || d === 1;
      const [f, g, h] = acts[d]!;
      for (let b = 0; b < Bt; b++) {
        const hs = new Float64Array(H);
        const cs = new Float64Array(H);
        const hOff = layout === 0 ? (d * Bt + b) * H : (b * dirs + d) * H;
        for (let j = 0; j < H; j++) {
          hs[j] = hInit ? hInit[hOff + j]! : 0;
          cs[j] = cInit ? cInit[hOff + j]! : 0;
        }
        const len = lens[b]!;
        for (let step = 0; step < len; step++) {
          const t = reverse ? len - 1 - step : step;
          const gates = new Float64Array(G * H);
          const rGates = new Float64Array(G * H);
          for (let k = 0; k < G * H; k++) {
            let s = bias ? bias[d * 2 * G * H + k]! : 0;
            for (let i = 0; i < I; i++) s += w[(d * G * H + k) * I + i]! * xAt(t, b, i);
            let rs = bias ? bias[d * 2 * G * H + G * H + k]! : 0;
            for (let j = 0; j < H; j++) rs += rr[(d * G * H + k) * H + j]! * hs[j]!;
            gates[k] = s;
            rGates[k] = rs;
          }
          const next = new Float64Array(H);
          if (cell === 'rnn') {
            for (let j = 0; j < H; j++) next[j] = f!(cl(gates[j]! + rGates[j]!));
          } else if (cell === 'gru') {
            // Gate order z, r, h.
            for (let j = 0; j < H; j++) {
              const z = f!(cl(gates[j]! + rGates[j]!));
              const rg = f!(cl(gates[H + j]! + rGates[H + j]!));
              let hh: number;
              if (linearBeforeReset) hh = g!(cl(gates[2 * H + j]! + rg * rGates[2 * H + j]!));
              else {
                let s = bias ? bias[d * 2 * G * H + G * H + 2 * H + j]! : 0;
                for (let q = 0; q < H; q++) s += rr[(d * G * H + 2 * H + j) * H + q]! * rg * hs[q]!;
                hh = g!(cl(gates[2 * H + j]! + s));
              }
              next[j] = (1 - z) * hh + z * hs[j]!;
            }
          } else {
            // Gate order i, o, f, c; peepholes P = [Pi, Po, Pf].
            for (let j = 0; j < H; j++) {
              const pi = p ? p[d * 3 * H + j]! : 0;
              const po = p ? p[d * 3 * H + H + j]! : 0;
              const pf = p ? p[d * 3 * H + 2 * H + j]! : 0;
              const ig = f!(cl(gates[j]! + rGates[j]! + pi * cs[j]!));
              const fg = inputForget ? 1 - ig : f!(cl(gates[2 * H + j]! + rGates[2 * H + j]! + pf * cs[j]!));
              const cc = g!(cl(gates[3 * H + j]! + rGates[3 * H + j]!));
              const c = fg * cs[j]! + ig * cc;
              const og = f!(cl(gates[H + j]! + rGates[H + j]! + po * c));
              cs[j] = c;
              next[j] = og * h!(c);
            }
          }
          hs.set(next);
          for (let j = 0; j < H; j++) Y[((t * dirs + d) * Bt + b) * H + j] = next[j]!;
        }
        for (let j = 0; j < H; j++) {
          Yh[(d * Bt + b) * H + j] = hs[j]!;
          Yc[(d * Bt + b) * H + j] = cs[j]!;
        }
      }
    }
    const dtype = X0!.dtype;
    const round = (arr: Float64Array) => arr.map((v) => castValue(v, dtype));
    if (layout === 0) {
      const res: NDArray[] = [make(dtype, [S, dirs, Bt, H], round(Y)), make(dtype, [dirs, Bt, H], round(Yh))];
      if (cell === 'lstm') res.push(make(dtype, [dirs, Bt, H], round(Yc)));
      return res;
    }
    // layout 1: Y [batch, seq, dirs, hidden], states [batch, dirs, hidden].
    const Y1 = new Float64Array(Y.length);
    for (let t = 0; t < S; t++) for (let d = 0; d < dirs; d++) for (let b = 0; b < Bt; b++) for (let j = 0; j < H; j++) {
      Y1[((b * S + t) * dirs + d) * H + j] = Y[((t * dirs + d) * Bt + b) * H + j]!;
    }
    const st = (src: Float64Array) => {
      const o = new Float64Array(src.length);
      for (let d = 0; d < dirs; d++) for (let b = 0; b < Bt; b++) for (let j = 0; j < H; j++) o[(b * dirs + d) * H + j] = src[(d * Bt + b) * H + j]!;
      return o;
    };
    const res: NDArray[] = [make(dtype, [Bt, S, dirs, H], round(Y1)), make(dtype, [Bt, dirs, H], round(st(Yh)))];
    if (cell === 'lstm') res.push(make(dtype, [Bt, dirs, H], round(st(Yc))));
    return res;
  };
}

export const RNN_KERNELS: Record<string, Kernel> = {
  LSTM: recurrent('lstm'),
  GRU: recurrent('gru'),
  RNN: recurrent('rnn'),
};
