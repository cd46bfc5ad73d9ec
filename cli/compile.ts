import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadModelFile, saveModelFile } from '../src/frontend/onnx/node-fs.js';
import { MsgraphError } from '../src/errors.js';
import { verify } from '../src/ir/verify.js';
import { printGraph } from '../src/ir/print.js';

export interface CompileOptions {
  target: string;
  output: string;
  passes: string;
  externalData?: boolean;
  printIr?: boolean;
}

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
  if (opts.printIr) process.stdout.write(printGraph(model.graph));
  fs.mkdirSync(path.dirname(path.resolve(opts.output)), { recursive: true });
  const res = saveModelFile(model, opts.output, { externalData: opts.externalData });
  const ext = res.externalSize ? ` + ${res.externalSize} bytes of external data` : '';
  process.stderr.write(`msgraph: wrote ${opts.output} (${res.size} bytes${ext})\n`);
}
