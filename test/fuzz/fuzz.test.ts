/**
 * Seeded fuzzing: mutants of small real models, byte-level (flips, truncation, insertion, varint bombs) and
 * structural (valid protobuf with wrong ops, arities, attributes, dims, dtypes, names and opsets), each run in
 * process through what `inspect`, `compile --target onnx` and `compile --target mindspore` do. A mutant may give a
 * result (exit 0), a one-line error (MsgraphError, exit 2) or a partial package (exit 3); anything else, a mutant
 * that runs past the time bound or a process past the memory bound fails the suite. The seed is fixed
 * (MSGRAPH_FUZZ_SEED to explore others), and MSGRAPH_FUZZ_MUTANTS sets how many.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isMsgraphError } from '../../src/errors.js';
import { decodeModel } from '../../src/frontend/onnx/decode.js';
import { encodeModel } from '../../src/frontend/onnx/encode.js';
import { concatChunks, parseModelProto, encodeModelBytes } from '../../src/frontend/onnx/index.js';
import { loadModelFile, modelFromFileBytes, readModelFile } from '../../src/frontend/onnx/node-fs.js';
import type { Model } from '../../src/ir/model.js';
import { importModel } from '../../src/frontend/onnx/import.js';
import { noExternalData } from '../../src/frontend/onnx/tensors.js';
import type { AttributeP, GraphP, ModelP, NodeP, TensorP } from '../../src/frontend/onnx/proto.js';
import { inspectModel, protoStats } from '../../src/frontend/inspect.js';
import { shapesReport } from '../../src/frontend/shapes-report.js';
import { verify } from '../../src/ir/verify.js';
import { compileForOrt } from '../../src/backends/ort/compile.js';
import { buildMindSporePackage } from '../../src/backends/mindspore/package.js';
import { CORPUS_DIR, MODELS_DIR, rng } from '../helpers/ort.js';

const SEED = Number(process.env.MSGRAPH_FUZZ_SEED ?? 20261130);
const MUTANTS = Number(process.env.MSGRAPH_FUZZ_MUTANTS ?? 3000);
/** Bounds that only a hang or a blow-up crosses: the seeds compile in well under a second. */
const TIME_BOUND_MS = 30_000;
const RSS_BOUND_BYTES = 3 * 2 ** 30;

const SMALL_CORPUS = [
  'onnx__pytorch-converted_test_PixelShuffle.onnx', 'burn-onnx__layer_norm.onnx', 'onnx__pytorch-converted_test_Conv2d_depthwise_with_multiplier.onnx',
  'onnx-meetup-2024__gelu_model_from_textproto.onnx', 'onnx2tf__GroupNormalization_11.onnx', 'onnx2tf__Loop_3_16.onnx', 'burn-onnx__hard_swish.onnx',
  'burn-onnx__linear.onnx', 'burn-onnx__resize_2d_bilinear_scale.onnx', 'onnx2tf__Attention_torch2.10_23.onnx', 'onnx2tf__If_p3_11.onnx',
  'burn-onnx__rnn_bidirectional.onnx', 'burn-onnx__conv2d_asymmetric_padding.onnx', 'onnx-diagnostic__attention_loopa24.onnx',
  'onnx-tutorials__super_resolution.onnx',
];
const seeds: [string, Uint8Array][] = [
  ...['upsampler.onnx', 'bert.onnx'].map((f) => [f, new Uint8Array(fs.readFileSync(path.join(MODELS_DIR, f)))] as [string, Uint8Array]),
  ...SMALL_CORPUS.filter((f) => fs.existsSync(path.join(CORPUS_DIR, f))).map((f) => [f, new Uint8Array(fs.readFileSync(path.join(CORPUS_DIR, f)))] as [string, Uint8Array]),
];

type Outcome = 0 | 2 | 3;
const counts = { mutants: 0, byte: 0, structural: 0, exit0: 0, exit2: 0, exit3: 0, runs: 0 };
afterAll(() => {
  console.log(`fuzz: ${counts.mutants} mutants (${counts.byte} byte-level, ${counts.structural} structural) of ${seeds.length} seed models, seed ${SEED}; ${counts.runs} runs through inspect and both compile targets: exit 0 ${counts.exit0}, exit 2 ${counts.exit2}, exit 3 ${counts.exit3}`);
});

// ---- what the three commands do, in process ----------------------------------------------------------------------

function load(bytes: Uint8Array) {
  const p = parseModelProto(bytes, 'mutant.onnx');
  return { p, model: importModel(p, { file: 'mutant.onnx', external: noExternalData }) };
}

const COMMANDS: [string, (bytes: Uint8Array) => Outcome][] = [
  ['inspect --shapes', (bytes) => {
    const { p, model } = load(bytes);
    inspectModel(model, protoStats(p), 'mutant.onnx');
    shapesReport(model);
    return 0;
  }],
  ['compile --target onnx', (bytes) => {
    const { model } = load(bytes);
    verify(model.graph);
    compileForOrt(model, {});
    encodeModelBytes(model, { autoLocation: 'mutant.onnx.data' });
    return 0;
  }],
  ['compile --target mindspore', (bytes) => {
    const { model } = load(bytes);
    verify(model.graph);
    return buildMindSporePackage(model, { source: 'mutant.onnx' }).partial ? 3 : 0;
  }],
];

// ---- mutations -----------------------------------------------------------------------------------------------------

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const int = (r: Rand, n: number) => Math.floor(r() * n);

function byteMutant(r: Rand, src: Uint8Array): Uint8Array {
  const b = src.slice();
  switch (int(r, 6)) {
    case 0: // flip bits
      for (let k = 1 + int(r, 8); k > 0; k--) b[int(r, b.length)]! ^= 1 << int(r, 8);
      return b;
    case 1: // truncate
      return b.subarray(0, int(r, b.length));
    case 2: { // insert random bytes
      const at = int(r, b.length);
      const ins = Uint8Array.from({ length: 1 + int(r, 16) }, () => int(r, 256));
      return Uint8Array.from([...b.subarray(0, at), ...ins, ...b.subarray(at)]);
    }
    case 3: { // a huge varint where a length or value was
      const at = int(r, b.length - 1);
      const big = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
      return Uint8Array.from([...b.subarray(0, at), ...big.slice(int(r, 6)), ...b.subarray(at + 1)]);
    }
    case 4: { // duplicate a chunk
      const at = int(r, b.length);
      const len = int(r, Math.min(256, b.length - at));
      return Uint8Array.from([...b.subarray(0, at + len), ...b.subarray(at, at + len), ...b.subarray(at + len)]);
    }
    default: // zero a run
      b.fill(0, int(r, b.length), int(r, b.length));
      return b;
  }
}

const OPS = ['Add', 'MatMul', 'Conv', 'Reshape', 'Transpose', 'Concat', 'Slice', 'Gather', 'Softmax', 'LayerNormalization', 'Resize', 'Expand',
  'ConstantOfShape', 'Range', 'Tile', 'Loop', 'If', 'Split', 'Squeeze', 'Unsqueeze', 'Pad', 'TopK', 'Einsum', 'ScatterND', 'Where', 'Cast',
  'ReduceSum', 'Flatten', 'GroupNormalization', 'Attention', 'NoSuchOp', 'Identity', 'Shape', 'Size', 'Mod', 'Clip', 'BatchNormalization', 'LSTM'];
const NAMES = ['', 'x', 'y', '__init__', 'set_train', 'a`b<img>', '\u001b[2J', 'print("x")', '../../etc/passwd', 'self', 'ümlaut', '\n', 'def'];
const WEIRD_INTS = [0, -1, 1, 2, 3, -2147483648, 2147483647, 2 ** 40, -(2 ** 53), 7, 1024, 65536];

function allGraphs(g: GraphP, out: GraphP[] = []): GraphP[] {
  out.push(g);
  for (const n of g.node) for (const a of n.attribute) {
    if (a.g) allGraphs(a.g, out);
    for (const sg of a.graphs) allGraphs(sg, out);
  }
  return out;
}

function valueNames(g: GraphP): string[] {
  return [...g.input.map((v) => v.name), ...g.initializer.map((t) => t.name), ...g.node.flatMap((n) => n.output)];
}

function mutateAttr(r: Rand, a: AttributeP): void {
  switch (pick(r, [0, 0, 1, 1, 2, 3, 4])) {
    case 0: a.i = BigInt(pick(r, WEIRD_INTS)); break;
    case 1: a.ints = Array.from({ length: int(r, 7) }, () => BigInt(pick(r, WEIRD_INTS))); break;
    case 2: a.f = pick(r, [NaN, Infinity, -Infinity, 0, 1e30, -1e-30]); break;
    case 3: a.type = int(r, 16); break;
    default: a.name = pick(r, ['axis', 'perm', 'axes', 'pads', 'to', 'keepdims', 'value', 'split', 'group', 'epsilon', a.name + '_']);
  }
}

function mutateTensor(r: Rand, t: TensorP): void {
  switch (int(r, 5)) {
    case 0: t.dims = t.dims.map((d) => (r() < 0.3 ? pick(r, WEIRD_INTS) : d)); break;
    case 1: t.dataType = int(r, 27); break;
    case 2: if (t.rawData) t.rawData = t.rawData.subarray(0, int(r, t.rawData.length + 1)); break;
    case 3: t.dims = [...t.dims, pick(r, [0, 1, 2, 2147483647])]; break;
    default: t.dataLocation = 1; t.externalData = [{ key: 'location', value: pick(r, ['w.bin', '../w.bin', '/etc/passwd', '']) }];
  }
}

function mutateNode(r: Rand, g: GraphP, n: NodeP): void {
  const names = valueNames(g);
  switch (int(r, 9)) {
    case 0: n.opType = pick(r, OPS); break;
    case 1: n.input.pop(); break;
    case 2: n.input.push(r() < 0.5 ? '' : pick(r, names.length ? names : ['x'])); break;
    case 3: if (n.input.length) n.input[int(r, n.input.length)] = pick(r, [...names, ...NAMES]); break;
    case 4: if (n.attribute.length) mutateAttr(r, pick(r, n.attribute)); break;
    case 5: n.attribute = []; break;
    case 6: n.output.push(pick(r, NAMES)); break;
    case 7: n.domain = pick(r, ['', 'com.microsoft', 'ai.onnx.ml', 'pkg.unknown']); break;
    default: n.name = pick(r, NAMES);
  }
}

function structuralMutant(r: Rand, src: Uint8Array): Uint8Array {
  const m: ModelP = decodeModel(src);
  if (!m.graph) throw new Error('no graph to mutate');
  const graphs = allGraphs(m.graph);
  // Mostly one mutation, mostly of values (attributes, dims, dtypes) that keep the graph well-formed, so that
  // mutants get past decoding and verification into inference, the passes and the emitters.
  for (let k = r() < 0.7 ? 1 : 2 + int(r, 2); k > 0; k--) {
    const g = pick(r, graphs);
    switch (pick(r, [0, 0, 1, 1, 1, 3, 3, 4, 5, 6, 7, 8, 9, 9])) {
      case 0:
        if (g.node.length) mutateNode(r, g, pick(r, g.node));
        break;
      case 1: { // an attribute's value
        const withAttrs = g.node.filter((n) => n.attribute.length);
        if (withAttrs.length) mutateAttr(r, pick(r, pick(r, withAttrs).attribute));
        break;
      }
      case 9: { // a graph input's dims: odd but valid
        const v = g.input.length ? pick(r, g.input) : null;
        if (v?.type?.kind === 'tensor' && v.type.shape) v.type = { ...v.type, shape: v.type.shape.map((d) => (r() < 0.5 ? d : r() < 0.5 ? { value: pick(r, [0, 1, 3, 1000003]) } : { param: pick(r, ['n', 'batch', '']) })) };
        break;
      }
      case 3:
        if (g.initializer.length) mutateTensor(r, pick(r, g.initializer));
        break;
      case 4: // remove a node or an initializer
        if (r() < 0.5 && g.node.length) g.node.splice(int(r, g.node.length), 1);
        else if (g.initializer.length) g.initializer.splice(int(r, g.initializer.length), 1);
        break;
      case 5: // duplicate or reorder nodes
        if (g.node.length) {
          const i = int(r, g.node.length);
          if (r() < 0.5) g.node.splice(int(r, g.node.length), 0, structuredClone(g.node[i]!));
          else g.node.unshift(...g.node.splice(i, 1));
        }
        break;
      case 6: // opsets and IR version
        m.opsetImport = r() < 0.3 ? [] : m.opsetImport.map((o) => ({ ...o, version: pick(r, [1, 5, 7, 9, 11, 13, 17, 18, 21, 23, 99, -1]) }));
        m.irVersion = pick(r, [m.irVersion, 1, 3, 7, 10, 12, 0]);
        break;
      case 7: { // graph inputs and outputs
        const io = r() < 0.5 ? g.input : g.output;
        if (io.length) {
          const v = pick(r, io);
          if (r() < 0.4) v.name = pick(r, NAMES);
          else if (v.type?.kind === 'tensor') v.type = { ...v.type, elemType: int(r, 27), shape: r() < 0.5 ? null : (v.type.shape ?? []).map(() => (r() < 0.5 ? { value: pick(r, WEIRD_INTS) } : { param: pick(r, NAMES) })) };
          else io.splice(io.indexOf(v), 1);
        }
        break;
      }
      default: // a node's output renamed to collide with another value
        if (g.node.length && g.node.length > 1) {
          const n = pick(r, g.node);
          if (n.output.length) n.output[0] = pick(r, valueNames(g));
        }
    }
  }
  return encodeModel(m);
}

// ---- the suite ------------------------------------------------------------------------------------------------------

const CHUNK = 100;
describe('fuzz: inspect and both compile targets on mutated models', () => {
  it('has seed models', () => expect(seeds.length).toBeGreaterThanOrEqual(2));
  for (let start = 0; start < MUTANTS; start += CHUNK) {
    it(`mutants ${start}..${Math.min(MUTANTS, start + CHUNK) - 1}`, () => {
      const failures: string[] = [];
      for (let i = start; i < Math.min(MUTANTS, start + CHUNK); i++) {
        const r = rng(SEED + i * 7919);
        const [seedName, seed] = seeds[i % seeds.length]!;
        const structural = i % 3 !== 0;
        let bytes: Uint8Array;
        try {
          bytes = structural ? structuralMutant(r, seed) : byteMutant(r, seed);
        } catch {
          bytes = byteMutant(r, seed); // the seed itself did not decode into a structure to mutate
        }
        counts.mutants++;
        counts[structural ? 'structural' : 'byte']++;
        for (const [cmd, run] of COMMANDS) {
          const t0 = performance.now();
          let outcome: Outcome | 1;
          let detail = '';
          try {
            outcome = run(bytes);
          } catch (e) {
            if (isMsgraphError(e)) {
              outcome = 2;
              if (process.env.MSGRAPH_FUZZ_LOG) fs.appendFileSync(process.env.MSGRAPH_FUZZ_LOG, `${cmd}\t${e.message.replace(/\d+/g, 'N').replace(/"[^"]*"/g, 'S').slice(0, 80)}\n`);
              if (/\n/.test(e.oneLine())) detail = 'error message spans lines';
            } else {
              outcome = 1;
              detail = `${(e as Error)?.message}\n${((e as Error)?.stack ?? '').split('\n').slice(1, 4).join('\n')}`;
            }
          }
          const ms = performance.now() - t0;
          counts.runs++;
          if (outcome !== 1 && !detail) counts[`exit${outcome}`]++;
          const rss = process.memoryUsage().rss;
          if (outcome === 1 || detail || ms > TIME_BOUND_MS || rss > RSS_BOUND_BYTES) {
            const keep = path.resolve(import.meta.dirname, '../../test-output/fuzz');
            fs.mkdirSync(keep, { recursive: true });
            const f = path.join(keep, `mutant-${SEED}-${i}.onnx`);
            fs.writeFileSync(f, bytes);
            failures.push(`mutant ${i} of ${seedName} (${structural ? 'structural' : 'byte'}; saved as ${f}), ${cmd}: ${outcome === 1 ? `internal error: ${detail}` : detail || (ms > TIME_BOUND_MS ? `took ${ms.toFixed(0)} ms` : `rss ${rss} bytes`)}`);
          }
        }
      }
      expect(failures, failures.join('\n\n')).toEqual([]);
    }, 600_000);
  }
});

// ---- reading a file without its weights ---------------------------------------------------------------------------

/** What a model read from `f` gives: its error's message, or its encoding (tensor data read from wherever it is). */
function readOutcome(read: () => Model): string {
  let m: Model;
  try {
    m = read();
  } catch (e) {
    if (isMsgraphError(e)) return `error: ${e.message}`;
    throw e;
  }
  try {
    return `model: ${Buffer.from(concatChunks(encodeModelBytes(m, { autoLocation: 'x.data' }).chunks)).toString('base64')}`;
  } catch (e) {
    if (isMsgraphError(e)) return `encode error: ${e.message}`;
    throw e;
  }
}

describe('fuzz: a file read without its weights reads as the whole file does', () => {
  // Every fifth mutant, written to a file: the structure walk that leaves payloads on disk must not change what the
  // decoder reports, nor any byte of what the model encodes back to.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'msgraph-fuzz-read-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  it(`mutants 0..${MUTANTS - 1}, every fifth`, () => {
    const failures: string[] = [];
    let lazy = 0;
    for (let i = 0; i < MUTANTS; i += 5) {
      const r = rng(SEED + i * 7919);
      const [seedName, seed] = seeds[i % seeds.length]!;
      let bytes: Uint8Array;
      try {
        bytes = i % 3 !== 0 ? structuralMutant(r, seed) : byteMutant(r, seed);
      } catch {
        bytes = byteMutant(r, seed);
      }
      const f = path.join(dir, 'mutant.onnx');
      fs.writeFileSync(f, bytes);
      const sparse = readOutcome(() => {
        const m = loadModelFile(f);
        lazy += m.graph.initializers.filter((v) => v.const && !v.const.isLoaded).length;
        return m;
      });
      const whole = readOutcome(() => modelFromFileBytes(readModelFile(f), f));
      if (sparse !== whole) failures.push(`mutant ${i} of ${seedName}: ${sparse.slice(0, 200)} / ${whole.slice(0, 200)}`);
    }
    // The seeds have weights past the size that stays on disk, so the comparison covers payloads read later.
    expect(lazy).toBeGreaterThan(0);
    expect(failures, failures.join('\n')).toEqual([]);
  }, 600_000);
});
