import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadModelFile, stageDirectory } from '../src/frontend/onnx/node-fs.js';
import { writeInterruptibly } from './interrupt.js';
import { Profile } from '../src/util/profile.js';
import { explain } from './explain.js';
import { MsgraphError } from '../src/errors.js';
import { verify } from '../src/ir/verify.js';
import { printGraph } from '../src/ir/print.js';
import type { Model } from '../src/ir/model.js';
import { MINDSPORE_PIPELINE, parsePassList } from '../src/passes/registry.js';
import { checkPassNames } from '../src/passes/manager.js';

export interface CompileOptions {
  target: string;
  output: string;
  passes: string;
  ep?: string;
  shape?: string[];
  printAfter?: string[];
  externalData?: boolean;
  printIr?: boolean;
  weights?: 'safetensors' | 'ckpt';
  msVersion?: string;
  attention?: 'math' | 'flash';
  strict?: boolean;
  static?: boolean;
  dtype?: 'float32' | 'float16' | 'bfloat16';
  dim?: string[];
  explainFusion?: boolean;
  timings?: boolean;
  profile?: boolean;
  precision?: string;
  keepFp32?: string[];
  minCosine?: string;
  fp16?: string;
  ioDtype?: string;
  perNode?: boolean;
  inputs?: string;
  seed?: string;
}

/** What an emitted package directory may hold; a directory with anything else is not replaced. */
const PACKAGE_FILES = new Set(['model.py', 'model.safetensors', 'model.ckpt', 'weight_map.json', 'report.json', 'report.md', 'run_example.py']);

/** Exit status of a MindSpore compile that emitted fallbacks. */
export const EXIT_PARTIAL = 3;

export async function compileCommand(file: string, opts: CompileOptions): Promise<void> {
  if (path.resolve(opts.output) === path.resolve(file)) {
    throw new MsgraphError('usage', 'the output would overwrite the input model', { file: opts.output });
  }
  // Each target's code is loaded only when it is used (the MindSpore backend is half of the CLI).
  if (opts.target !== 'mindspore') return (await import('./compile-onnx.js')).compileOnnx(file, opts);
  if ((opts.precision ?? 'fp32') !== 'fp32' || opts.fp16 || (opts.ioDtype ?? 'fp32') !== 'fp32' || opts.perNode) {
    throw new MsgraphError('usage', '--precision is for the ONNX Runtime target (and so are --fp16, --io-dtype and --per-node); MindSpore packages are float32');
  }
  const prof = new Profile(!!opts.profile);
  const model = prof.run('read and decode', () => loadModelFile(file));
  prof.run('verify', () => verify(model.graph));
  return compileMindSpore(file, model, opts, prof);
}

/** `--dim sample=batch,4,height,width`: per input, a name frees a dim, a number keeps the export's size. */
function parseDims(specs: string[]): Record<string, (string | number)[]> {
  const out: Record<string, (string | number)[]> = {};
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const dims = eq > 0 ? spec.slice(eq + 1).split(',').map((d) => d.trim()) : [];
    if (eq <= 0 || !dims.length || dims.some((d) => !/^(\d+|[A-Za-z_]\w*)$/.test(d))) {
      throw new MsgraphError('usage', `--dim ${spec}: expected input=dim,dim,... (a name frees a dim, a number keeps it)`);
    }
    out[spec.slice(0, eq)] = dims.map((d) => (/^\d+$/.test(d) ? Number(d) : d));
  }
  return out;
}

async function compileMindSpore(file: string, model: Model, opts: CompileOptions, prof: Profile): Promise<void> {
  const out = path.resolve(opts.output);
  if (fs.existsSync(out) && !fs.statSync(out).isDirectory()) {
    throw new MsgraphError('usage', 'the MindSpore target writes a directory; the output exists and is a file', { file: opts.output });
  }
  // --static keeps every size the export fixed: the pipeline without free-dims.
  const passes = parsePassList(opts.passes, opts.static ? MINDSPORE_PIPELINE.filter((p) => p !== 'free-dims') : MINDSPORE_PIPELINE);
  checkPassNames([...passes, ...(opts.printAfter ?? [])]);
  const { buildMindSporePackage } = await import('../src/backends/mindspore/package.js');
  const pkg = buildMindSporePackage(model, {
    source: path.basename(file), weights: opts.weights, msVersion: opts.msVersion, attention: opts.attention, strict: opts.strict, dtype: opts.dtype, dims: parseDims(opts.dim ?? []),
    passes, printAfter: opts.printAfter, onPrint: (name, m) => process.stdout.write(`# after ${name}\n${printGraph(m.graph)}`),
    profile: opts.profile ? prof : undefined,
    // stageDirectory writes each chunk before asking for the next.
    reuseBuffers: true,
  });
  if (opts.printIr) process.stdout.write(printGraph(model.graph));
  await prof.runAsync('write (weights streamed)', () => writeInterruptibly(() => stageDirectory(out, pkg.files, PACKAGE_FILES)));
  if (opts.profile) process.stderr.write(prof.format(`profile: compile --target mindspore ${path.basename(file)}`));
  const r = pkg.result;
  if (opts.explainFusion) explain(r.nearMisses, Object.entries(r.fusionCounts).map(([k, v]) => `${k} ${v}`).join(', ') || 'none (no fusion pass in --passes)');
  process.stderr.write(`msgraph: wrote ${opts.output}/ (model.py: ${r.classes.length} classes, ${r.params.length} parameters, MindSpore ${r.msVersion})\n`);
  if (pkg.partial) {
    process.stderr.write(`msgraph: partial: ${r.fallbacks.length} op(s) have no mapping (${[...new Set(r.fallbacks.map((f) => f.op))].join(', ')}); see report.md\n`);
    process.exitCode = EXIT_PARTIAL;
  }
}
