#!/usr/bin/env node
/** The `msgraph` command: parses arguments and calls into src/. Errors print as one line; --debug adds the stack. */
import { Command, CommanderError, Option } from 'commander';
import { isMsgraphError } from '../src/errors.js';
import { inspectCommand } from './inspect.js';
import { compileCommand, type CompileOptions } from './compile.js';
import { VERSION } from '../src/version.js';

const program = new Command();
program
  .name('msgraph')
  .description('Graph compiler for PyTorch-exported ONNX models: MindSpore (mint) IR, passes, code generation, ONNX Runtime')
  .version(VERSION)
  .option('--debug', 'print stack traces on errors')
  .showHelpAfterError()
  .exitOverride();

program
  .command('inspect')
  .description('summarise a model: producer, exporter, opsets, inputs/outputs, op histogram, parameters, module tree')
  .argument('<model>', 'an .onnx file')
  .option('--json', 'print one JSON object instead of text')
  .option('--depth <n>', 'levels of the module tree to print', '4')
  .option('--shapes', 'infer and list every value with its dtype and (symbolic) shape, and the ops inference cannot handle')
  .action((model: string, opts: { json?: boolean; depth: string; shapes?: boolean }) => inspectCommand(model, opts));

program
  .command('compile')
  .description('compile a model: optimised ONNX (--target onnx) or a MindSpore package (--target mindspore)')
  .argument('<model>', 'an .onnx file')
  .addOption(new Option('--target <target>', 'what to produce').choices(['onnx', 'mindspore']).default('onnx'))
  .requiredOption('-o, --output <path>', 'output file (onnx) or directory (mindspore)')
  .option('--passes <list>', "'none' (a pure round trip) or a comma-separated list of passes", 'none')
  .option('--external-data', 'onnx: store tensors of 1 KiB and more in <output>.data (automatic past 2 GiB)')
  .addOption(new Option('--weights <format>', 'mindspore: weight file format').choices(['safetensors', 'ckpt']).default('safetensors'))
  .option('--ms-version <version>', 'mindspore: MindSpore version the code must run on', '2.6.0')
  .addOption(new Option('--attention <path>', 'mindspore: attention helper default path').choices(['math', 'flash']).default('math'))
  .option('--strict', 'mindspore: fail (exit 2) instead of emitting fallbacks for unmapped ops (exit 3)')
  .option('--print-ir', 'print the IR before writing')
  .action((model: string, opts: CompileOptions) => compileCommand(model, opts));

function fail(e: unknown): never {
  const debug = process.argv.includes('--debug');
  if (isMsgraphError(e)) {
    process.stderr.write(`msgraph: error: ${e.oneLine()}\n`);
    if (debug) process.stderr.write(`${e.stack}\n`);
    process.exit(2);
  }
  if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : 2);
  const err = e as Error;
  process.stderr.write(`msgraph: internal error: ${err?.message ?? String(e)}${debug ? '' : ' (run with --debug for the stack)'}\n`);
  if (debug) process.stderr.write(`${err?.stack}\n`);
  process.exit(1);
}

try {
  await program.parseAsync(process.argv);
} catch (e) {
  fail(e);
}
