import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadModelFile, saveModelFile, writeFilesAtomic } from '../src/frontend/onnx/node-fs.js';
import { MsgraphError } from '../src/errors.js';
import { verify } from '../src/ir/verify.js';
import { printGraph } from '../src/ir/print.js';
import type { Model } from '../src/ir/model.js';
import { buildMindSporePackage } from '../src/backends/mindspore/package.js';

export interface CompileOptions {
  target: string;
  output: string;
  passes: string;
  externalData?: boolean;
  printIr?: boolean;
  weights?: 'safetensors' | 'ckpt';
  msVersion?: string;
  attention?: 'math' | 'flash';
  strict?: boolean;
}

/** Exit status of a MindSpore compile that emitted fallbacks. */
export const EXIT_PARTIAL = 3;

export function compileCommand(file: string, opts: CompileOptions): void {
  const passes = opts.passes.split(',').map((s) => s.trim()).filter(Boolean);
  if (!(passes.length === 1 && passes[0] === 'none')) {
    throw new MsgraphError('usage', `unknown pass list ${JSON.stringify(opts.passes)}: this version has no optimisation passes; use --passes none`);
  }
  if (path.resolve(opts.output) === path.resolve(file)) {
    throw new MsgraphError('usage', 'the output would overwrite the input model', { file: opts.output });
  }
  const model = loadModelFile(file);
  verify(model.graph);
  if (opts.target === 'mindspore') return compileMindSpore(file, model, opts);
  if (opts.printIr) process.stdout.write(printGraph(model.graph));
  fs.mkdirSync(path.dirname(path.resolve(opts.output)), { recursive: true });
  const res = saveModelFile(model, opts.output, { externalData: opts.externalData });
  const ext = res.externalSize ? ` + ${res.externalSize} bytes of external data` : '';
  process.stderr.write(`msgraph: wrote ${opts.output} (${res.size} bytes${ext})\n`);
}

function compileMindSpore(file: string, model: Model, opts: CompileOptions): void {
  const out = path.resolve(opts.output);
  if (fs.existsSync(out) && !fs.statSync(out).isDirectory()) {
    throw new MsgraphError('usage', 'the MindSpore target writes a directory; the output exists and is a file', { file: opts.output });
  }
  const pkg = buildMindSporePackage(model, {
    source: path.basename(file), weights: opts.weights, msVersion: opts.msVersion, attention: opts.attention, strict: opts.strict,
  });
  if (opts.printIr) process.stdout.write(printGraph(model.graph));
  fs.mkdirSync(out, { recursive: true });
  writeFilesAtomic(pkg.files.map(([name, chunks]) => [path.join(out, name), chunks]));
  const r = pkg.result;
  process.stderr.write(`msgraph: wrote ${opts.output}/ (model.py: ${r.classes.length} classes, ${r.params.length} parameters, MindSpore ${r.msVersion})\n`);
  if (pkg.partial) {
    process.stderr.write(`msgraph: partial: ${r.fallbacks.length} op(s) have no mapping (${[...new Set(r.fallbacks.map((f) => f.op))].join(', ')}); see report.md\n`);
    process.exitCode = EXIT_PARTIAL;
  }
}
