/**
 * 2-D transposes of raw tensor data, for weights that must be written in the other orientation (an ONNX MatMul
 * weight [in, out] as a `Linear` weight [out, in]). Four-byte elements (float32, int32) go through a small
 * WebAssembly kernel that moves 4x4 blocks with SIMD shuffles, tile by tile: about five times the speed of the
 * best plain JavaScript loop on a 768x3072 float32 matrix. Other widths, and hosts without WebAssembly SIMD, use
 * JavaScript loops over the same buffers.
 *
 * The kernel's module is assembled here, byte by byte, from the instruction sequence below; there is no binary
 * blob and no build step.
 */

const TILE = 64;

// ---- a few WebAssembly encodings -----------------------------------------------------------------------------
function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
const name = (s: string) => [...uleb(s.length), ...[...s].map((ch) => ch.charCodeAt(0))];

const I32 = 0x7f;
const V128 = 0x7b;
const get = (i: number) => [0x20, ...uleb(i)];
const set = (i: number) => [0x21, ...uleb(i)];
const i32 = (v: number) => [0x41, ...sleb(v)];
const ADD = 0x6a;
const MUL = 0x6c;
const AND = 0x71;
const LT_U = 0x49;
const GE_U = 0x4f;
const SELECT = 0x1b;
const load = (addr: number[]) => [...addr, 0xfd, 0x00, 0x02, 0x00];
const store = (addr: number[], value: number[]) => [...addr, ...value, 0xfd, 0x0b, 0x02, 0x00];
/** i8x16.shuffle picking 32-bit lanes (0-3 from the first operand, 4-7 from the second). */
const shuffle32 = (a: number[], b: number[], lanes: number[]) => [...a, ...b, 0xfd, 0x0d, ...lanes.flatMap((l) => [l * 4, l * 4 + 1, l * 4 + 2, l * 4 + 3])];

/** `for (v = from; v < to; v += step) body`, as block/loop/br_if. */
function loop(v: number, from: number[], to: number[], step: number[], body: number[]): number[] {
  return [
    ...from, ...set(v),
    0x02, 0x40, 0x03, 0x40,
    ...get(v), ...to, GE_U, 0x0d, 0x01,
    ...body,
    ...get(v), ...step, ADD, ...set(v),
    0x0c, 0x00, 0x0b, 0x0b,
  ];
}

/** t32(src, dst, rows, cols): dst[j][i] = src[i][j] for the 4x4 blocks of the leading (rows & ~3) x (cols & ~3). */
function kernelModule(): Uint8Array {
  // Parameters 0-3; i32 locals 4-13; v128 locals 14-21.
  const [SRC, DST, R, C, R4, C4, IB, JB, IEND, JEND, I, J, P, Q] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];
  const A = [14, 15, 16, 17];
  const T = [18, 19, 20, 21];
  const min = (a: number[], b: number[]) => [...a, ...b, ...a, ...b, LT_U, SELECT];
  const rowBytes = [...get(C), ...i32(4), MUL];
  const colBytes = [...get(R), ...i32(4), MUL];
  const at = (base: number, k: number, stride: number[]) => (k === 0 ? get(base) : [...get(base), ...stride, ...i32(k), MUL, ADD]);
  const block4 = [
    // p = src + (i * cols + j) * 4; q = dst + (j * rows + i) * 4
    ...get(SRC), ...get(I), ...get(C), MUL, ...get(J), ADD, ...i32(4), MUL, ADD, ...set(P),
    ...get(DST), ...get(J), ...get(R), MUL, ...get(I), ADD, ...i32(4), MUL, ADD, ...set(Q),
    ...[0, 1, 2, 3].flatMap((k) => [...load(at(P, k, rowBytes)), ...set(A[k]!)]),
    ...[...shuffle32(get(A[0]!), get(A[1]!), [0, 4, 1, 5]), ...set(T[0]!)],
    ...[...shuffle32(get(A[0]!), get(A[1]!), [2, 6, 3, 7]), ...set(T[1]!)],
    ...[...shuffle32(get(A[2]!), get(A[3]!), [0, 4, 1, 5]), ...set(T[2]!)],
    ...[...shuffle32(get(A[2]!), get(A[3]!), [2, 6, 3, 7]), ...set(T[3]!)],
    ...store(at(Q, 0, colBytes), shuffle32(get(T[0]!), get(T[2]!), [0, 1, 4, 5])),
    ...store(at(Q, 1, colBytes), shuffle32(get(T[0]!), get(T[2]!), [2, 3, 6, 7])),
    ...store(at(Q, 2, colBytes), shuffle32(get(T[1]!), get(T[3]!), [0, 1, 4, 5])),
    ...store(at(Q, 3, colBytes), shuffle32(get(T[1]!), get(T[3]!), [2, 3, 6, 7])),
  ];
  const body = [
    ...get(R), ...i32(-4), AND, ...set(R4),
    ...get(C), ...i32(-4), AND, ...set(C4),
    ...loop(IB, i32(0), get(R4), i32(TILE), [
      ...min([...get(IB), ...i32(TILE), ADD], get(R4)), ...set(IEND),
      ...loop(JB, i32(0), get(C4), i32(TILE), [
        ...min([...get(JB), ...i32(TILE), ADD], get(C4)), ...set(JEND),
        ...loop(I, get(IB), get(IEND), i32(4), loop(J, get(JB), get(JEND), i32(4), block4)),
      ]),
    ]),
    0x0b,
  ];
  const locals = [0x02, ...uleb(10), I32, ...uleb(8), V128];
  const code = [...locals, ...body];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [0x01, 0x60, 0x04, I32, I32, I32, I32, 0x00]),
    ...section(3, [0x01, 0x00]),
    ...section(5, [0x01, 0x00, 0x01]),
    ...section(7, [0x02, ...name('t32'), 0x00, 0x00, ...name('mem'), 0x02, 0x00]),
    ...section(10, [0x01, ...uleb(code.length), ...code]),
  ]);
}

interface Kernel {
  t32: (src: number, dst: number, rows: number, cols: number) => void;
  mem: { buffer: ArrayBuffer; grow(pages: number): number };
}

/** The part of the WebAssembly API used here (hosts without it use the JavaScript loops). */
interface Wasm {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: unknown };
}

let kernel: Kernel | null | undefined;

function getKernel(): Kernel | null {
  if (kernel !== undefined) return kernel;
  const wasm = (globalThis as { WebAssembly?: Wasm }).WebAssembly;
  try {
    kernel = wasm ? (new wasm.Instance(new wasm.Module(kernelModule())).exports as Kernel) : null;
  } catch {
    kernel = null;
  }
  return kernel;
}

type Words = Uint8Array | Uint16Array | Int32Array | Float64Array;
const WORDS: Record<number, new (b: ArrayBufferLike, off: number, n: number) => Words> = { 1: Uint8Array, 2: Uint16Array, 4: Int32Array, 8: Float64Array };

/** dst = src transposed, for elements `from` rows/cols on (the part the kernel leaves, or everything). */
function transposeJs(a: Words, b: Words, r: number, c: number, rowFrom: number, colFrom: number): void {
  for (let i0 = 0; i0 < r; i0 += TILE) {
    for (let j0 = 0; j0 < c; j0 += TILE) {
      const i1 = Math.min(r, i0 + TILE);
      const j1 = Math.min(c, j0 + TILE);
      if (i1 <= rowFrom && j1 <= colFrom) continue;
      for (let i = i0; i < i1; i++) {
        const skip = i < rowFrom;
        for (let j = skip ? Math.max(j0, colFrom) : j0, s = i * c + j, o = j * r + i; j < j1; j++, s++, o += r) b[o] = a[s]!;
      }
    }
  }
}

/**
 * Transposes a [rows, cols] matrix of `width`-byte elements. `fill` writes the source bytes into the array it is
 * given; the result is a view that stays valid until the next call (copy it to keep it).
 */
export function transposeInto(width: number, rows: number, cols: number, fill: (src: Uint8Array) => void): Uint8Array {
  const n = rows * cols * width;
  const k = width === 4 ? getKernel() : null;
  let buf: ArrayBuffer;
  let srcAt = 0;
  let dstAt = 0;
  if (k) {
    dstAt = Math.ceil(n / 16) * 16;
    const need = dstAt + n;
    if (k.mem.buffer.byteLength < need) k.mem.grow(Math.ceil((need - k.mem.buffer.byteLength) / 65536));
    buf = k.mem.buffer;
  } else {
    buf = scratchFor(2 * Math.ceil(n / 8) * 8);
    dstAt = Math.ceil(n / 8) * 8;
  }
  fill(new Uint8Array(buf, srcAt, n));
  const Word = WORDS[width];
  if (!Word) throw new Error(`transpose: ${width}-byte elements`);
  const a = new Word(buf, srcAt, rows * cols);
  const b = new Word(buf, dstAt, rows * cols);
  if (k) {
    k.t32(srcAt, dstAt, rows, cols);
    transposeJs(a, b, rows, cols, rows & ~3, cols & ~3);
  } else transposeJs(a, b, rows, cols, 0, 0);
  return new Uint8Array(buf, dstAt, n);
}

let scratch: ArrayBuffer | null = null;
function scratchFor(n: number): ArrayBuffer {
  if (!scratch || scratch.byteLength < n) scratch = new ArrayBuffer(n);
  return scratch;
}

/** Whether the SIMD kernel is in use on this host (for reports and tests). */
export function simdTranspose(): boolean {
  return getKernel() !== null;
}
