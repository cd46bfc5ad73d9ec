/** GridSample and STFT kernels. */
import { castValue, EvalError, make, num, strides, type NDArray } from '../ir/array.js';
import type { Attrs, Kernel } from './kernel.js';
import { cubicWeights } from './ops-resize.js';

function reflect(x: number, lo: number, hi: number): number {
  const span = hi - lo;
  if (span <= 0) return lo;
  let d = Math.abs(x - lo) % (2 * span);
  if (d > span) d = 2 * span - d;
  return lo + d;
}

/** 2-D GridSample (opset 16): bilinear / nearest / bicubic, zeros / border / reflection padding, align_corners. */
function gridSample([X, G]: (NDArray | null)[], a: Attrs): NDArray[] {
  if (X!.shape.length !== 4) throw new EvalError('GridSample beyond 2-D is not implemented in the reference evaluator');
  const [n, c, h, w] = X!.shape as [number, number, number, number];
  const [, ho, wo] = G!.shape as [number, number, number, number];
  const mode = a.s('mode', 'bilinear');
  const pad = a.s('padding_mode', 'zeros');
  const align = a.i('align_corners', 0) === 1;
  const x = num(X!);
  const g = num(G!);
  const xs = strides(X!.shape);
  const out = make(X!.dtype, [n, c, ho, wo]);
  const o = num(out);
  const unnorm = (v: number, size: number) => (align ? ((v + 1) / 2) * (size - 1) : ((v + 1) * size - 1) / 2);
  const at = (b: number, ch: number, yi: number, xi: number): number => {
    if (pad === 'border') {
      yi = Math.min(Math.max(yi, 0), h - 1);
      xi = Math.min(Math.max(xi, 0), w - 1);
    } else if (pad === 'reflection') {
      yi = Math.round(align ? reflect(yi, 0, h - 1) : reflect(yi, -0.5, h - 0.5));
      xi = Math.round(align ? reflect(xi, 0, w - 1) : reflect(xi, -0.5, w - 0.5));
      yi = Math.min(Math.max(yi, 0), h - 1);
      xi = Math.min(Math.max(xi, 0), w - 1);
    }
    if (yi < 0 || yi >= h || xi < 0 || xi >= w) return 0;
    return x[b * xs[0]! + ch * xs[1]! + yi * xs[2]! + xi]!;
  };
  const clampCoord = (v: number, size: number) => {
    if (pad === 'border') return Math.min(Math.max(v, 0), size - 1);
    if (pad === 'reflection') return align ? reflect(v, 0, size - 1) : reflect(v, -0.5, size - 0.5);
    return v;
  };
  let q = 0;
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      for (let i = 0; i < ho; i++) {
        for (let j = 0; j < wo; j++) {
          const gi = ((b * ho + i) * wo + j) * 2;
          const px = clampCoord(unnorm(g[gi]!, w), w);
          const py = clampCoord(unnorm(g[gi + 1]!, h), h);
          let v: number;
          if (mode === 'nearest') {
            const rx = Math.abs(px % 1) === 0.5 ? 2 * Math.round(px / 2) : Math.round(px);
            const ry = Math.abs(py % 1) === 0.5 ? 2 * Math.round(py / 2) : Math.round(py);
            v = at(b, ch, ry, rx);
          } else if (mode === 'bilinear' || mode === 'linear') {
            const x0 = Math.floor(px);
            const y0 = Math.floor(py);
            const tx = px - x0;
            const ty = py - y0;
            v = at(b, ch, y0, x0) * (1 - tx) * (1 - ty) + at(b, ch, y0, x0 + 1) * tx * (1 - ty) + at(b, ch, y0 + 1, x0) * (1 - tx) * ty + at(b, ch, y0 + 1, x0 + 1) * tx * ty;
          } else if (mode === 'bicubic' || mode === 'cubic') {
            const x0 = Math.floor(px);
            const y0 = Math.floor(py);
            const wx = cubicWeights(px - x0, -0.75);
            const wy = cubicWeights(py - y0, -0.75);
            v = 0;
            for (let dy = 0; dy < 4; dy++) for (let dx = 0; dx < 4; dx++) v += wy[dy]! * wx[dx]! * at(b, ch, y0 - 1 + dy, x0 - 1 + dx);
          } else throw new EvalError(`unknown GridSample mode ${mode}`);
          o[q++] = castValue(v, out.dtype);
        }
      }
    }
  }
  return [out];
}

/** STFT (opset 17): frames of `frame_length` every `frame_step`, optional window, real or complex input. */
function stft([S, stepA, W, lenA]: (NDArray | null)[], a: Attrs): NDArray[] {
  const [batch, len, comps] = S!.shape as [number, number, number];
  const step = num(stepA!)[0]!;
  const win = W ? num(W) : null;
  const flen = lenA ? num(lenA)[0]! : win ? win.length : 0;
  const onesided = a.i('onesided', 1) === 1 && comps === 1;
  const frames = Math.floor((len - flen) / step) + 1;
  const bins = onesided ? Math.floor(flen / 2) + 1 : flen;
  const s = num(S!);
  const out = make(S!.dtype, [batch, frames, bins, 2]);
  const o = num(out);
  for (let b = 0; b < batch; b++) {
    for (let f = 0; f < frames; f++) {
      for (let k = 0; k < bins; k++) {
        let re = 0;
        let im = 0;
        for (let t = 0; t < flen; t++) {
          const idx = (b * len + f * step + t) * comps;
          const wv = win ? win[t]! : 1;
          const xr = s[idx]! * wv;
          const xi = comps === 2 ? s[idx + 1]! * wv : 0;
          const ang = (-2 * Math.PI * k * t) / flen;
          re += xr * Math.cos(ang) - xi * Math.sin(ang);
          im += xr * Math.sin(ang) + xi * Math.cos(ang);
        }
        const q = ((b * frames + f) * bins + k) * 2;
        o[q] = castValue(re, out.dtype);
        o[q + 1] = castValue(im, out.dtype);
      }
    }
  }
  return [out];
}

export const SAMPLE_KERNELS: Record<string, Kernel> = { GridSample: gridSample, STFT: stft };
