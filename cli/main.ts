#!/usr/bin/env node
/** The `msgraph` command: parses arguments and calls into src/. Errors print as one line; --debug adds the stack. */
import { Command, CommanderError, Option } from 'commander';
import { isMsgraphError } from '../src/errors.js';
import { inspectCommand } from './inspect.js';
import { compileCommand } from './compile.js';
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
  .description('compile a model for a target')
  .argument('<model>', 'an .onnx file')
  .addOption(new Option('--target <target>', 'what to produce').choices(['onnx']).default('onnx'))
  .requiredOption('-o, --output <path>', 'output file')
  .option('--passes <list>', "'none' (a pure round trip) or a comma-separated list of passes", 'none')
  .option('--external-data', 'store tensors of 1 KiB and more in <output>.data (automatic past 2 GiB)')
  .option('--print-ir', 'print the IR before writing')
  .action((model: string, opts: { target: string; output: string; passes: string; externalData?: boolean; printIr?: boolean }) =>
    compileCommand(model, opts),
  );

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
