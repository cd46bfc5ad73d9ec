#!/usr/bin/env node
/** The `msgraph` command: parses arguments and calls into src/. Errors print as one line; --debug adds the stack. */
import { Command, CommanderError, Option } from 'commander';
import { isMsgraphError } from '../src/errors.js';
import type { CompileOptions } from './compile.js';
import { VERSION } from '../src/version.js';
import { DEFAULT_MS_VERSION } from '../src/backends/mindspore/version.js';
import { guardStream, termSafe } from './terminal.js';

// Model names reach stdout and stderr (inspect, --print-ir, run, reports): no raw terminal escapes from a model.
guardStream(process.stdout);
guardStream(process.stderr);

/** Errors without a file of their own name the model the command was given. */
async function withFile(file: string | undefined, run: () => Promise<void> | void): Promise<void> {
  try {
    await run();
  } catch (e) {
    if (isMsgraphError(e) && !e.file && file && e.code !== 'usage') e.file = file;
    throw e;
  }
}

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
  .option('--fusions', 'count what the fusion passes find (attention, multi-head attention, GroupNorm, LayerNorm, GELU, SiLU) and list near-misses')
  .action((model: string, opts: { json?: boolean; depth: string; shapes?: boolean; fusions?: boolean }) => withFile(model, async () => (await import('./inspect.js')).inspectCommand(model, opts)));

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** --precision and its companions, for compile --target onnx, run, verify and bench. */
function precisionOptions(c: Command): Command {
  return c
    .addOption(new Option('--precision <mode>', 'onnx: fp32; int8 (MatMul/Gemm weights int8 per output column, activations quantized at run time, embeddings int8); int4 (MatMul/Gemm weights 4-bit in blocks of 32, MatMulNBits); fp16 (float16 weights, and activations where the EP computes in float16, see --fp16)').choices(['fp32', 'int8', 'int4', 'fp16']).default('fp32'))
    .addOption(new Option('--fp16 <mode>', 'with --precision fp16: compute in float16 (float32 islands for softmax, reductions, exp/sin/cos) or only store weights in float16; default: compute on webgpu and cuda, storage on cpu and wasm').choices(['storage', 'compute']))
    .addOption(new Option('--io-dtype <dtype>', 'with --precision fp16 or int8: dtype of the float inputs and outputs').choices(['fp32', 'fp16']).default('fp32'))
    .option('--keep-fp32 <name>', "a node or weight name (or glob with *) kept in float32 under --precision (repeatable); compile: 'auto' keeps the layers that lose most until --min-cosine holds", collect)
    .option('--min-cosine <x>', 'reduced precision: lowest cosine similarity to the float32 plan accepted for each output', '0.999');
}

precisionOptions(program
  .command('compile'))
  .description('compile a model: optimised ONNX + static plan (--target onnx) or a MindSpore package (--target mindspore)')
  .argument('<model>', 'an .onnx file')
  .addOption(new Option('--target <target>', 'what to produce').choices(['onnx', 'mindspore']).default('onnx'))
  .requiredOption('-o, --output <path>', 'output file (onnx; the plan goes to <output>.plan.json) or directory (mindspore)')
  .option('--passes <list>', "'default' (the target's pipeline: onnx canonicalises and fuses, mindspore only fuses), 'none' or a comma-separated list of passes", 'default')
  .option('--ep <ep>', 'onnx: execution provider the plan targets (cpu, wasm, webgpu, cuda)', 'cpu')
  .option('--shape <name=DIMS>', 'onnx: fix an input shape, e.g. sample=1x4x64x64 (repeatable); static shape math folds', collect)
  .option('--print-after <pass>', 'print the IR after this pass (repeatable)', collect)
  .option('--external-data', 'onnx: store tensors of 1 KiB and more in <output>.data (automatic past 2 GiB)')
  .addOption(new Option('--weights <format>', 'mindspore: weight file format').choices(['safetensors', 'ckpt']).default('safetensors'))
  .option('--ms-version <version>', 'mindspore: MindSpore version the code must run on (2.3.0 to 2.11.0)', DEFAULT_MS_VERSION)
  .addOption(new Option('--attention <path>', 'mindspore: attention helper default path').choices(['math', 'flash']).default('math'))
  .addOption(new Option('--dtype <dtype>', 'mindspore: weights and activations in this type; float16/bfloat16 keep softmax, norms, reductions and sinusoids in float32').choices(['float32', 'float16', 'bfloat16']).default('float32'))
  .option('--dim <input=dims>', 'mindspore: which dims of an input are free, by name, and which keep the export\'s size, by number (sample=batch,4,height,width); repeatable', (v: string, prev: string[] = []) => [...prev, v])
  .option('--static', 'mindspore: keep every input size the export fixed (by default batch, spatial and sequence dims are free)')
  .option('--strict', 'mindspore: fail (exit 2) instead of emitting fallbacks for unmapped ops (exit 3)')
  .option('--explain-fusion', 'print what fused and why each near-miss did not')
  .option('--print-ir', 'print the IR before writing')
  .option('--timings', "onnx: record each pass's wall time in the plan (which then differs run to run)")
  .option('--inputs <bundle.json>', 'onnx, with --precision: the inputs the accuracy check runs on (seeded random ones otherwise)')
  .option('--seed <n>', 'onnx, with --precision: seed of the random inputs', '1')
  .option('--per-node', 'onnx, with --precision: when an output falls below --min-cosine, name the first value that does and the layers that lose most')
  .option('--profile', 'print the time and memory of each phase (decode, dialect, each pass, lowering, encode, write) and keep them in the plan or report')
  .action((model: string, opts: CompileOptions) => withFile(model, async () => (await import('./compile.js')).compileCommand(model, opts)));

precisionOptions(program
  .command('run'))
  .description('run a model (compiled on the fly, or a compiled one with its .plan.json) and print its outputs')
  .argument('<model>', 'an .onnx file')
  .option('--inputs <bundle.json>', 'input tensors (a tensor bundle); seeded random inputs otherwise')
  .option('--ep <ep>', 'execution provider: cpu, wasm, webgpu, cuda', 'cpu')
  .option('--shape <name=DIMS>', 'input shape for random inputs and specialisation (repeatable)', collect)
  .option('--passes <list>', "passes when compiling on the fly ('default', 'none', a,b,c)", 'default')
  .option('--seed <n>', 'seed of the random inputs', '1')
  .option('-o, --output <bundle.json>', 'write inputs and outputs as a tensor bundle')
  .option('--json', 'print JSON')
  .action((model: string, opts) => withFile(model, async () => (await import('./run.js')).runCommand(model, opts)));

precisionOptions(program
  .command('verify'))
  .description('run the original and the compiled model and compare every output (exit 1 on mismatch)')
  .argument('<model>', 'an .onnx file')
  .option('--inputs <bundle.json>', 'input tensors; seeded random inputs otherwise')
  .addOption(new Option('--target <target>', 'what to verify').choices(['onnx', 'mindspore']).default('onnx'))
  .option('--ep <ep>', 'execution provider: cpu, wasm, webgpu, cuda', 'cpu')
  .option('--shape <name=DIMS>', 'input shape (repeatable)', collect)
  .option('--passes <list>', "passes ('default', 'none', a,b,c)", 'default')
  .option('--per-node', 'compare every value both graphs share and name the first that diverges')
  .option('--compiled <model.onnx>', 'verify this compiled model instead of compiling now')
  .option('--rtol <x>', 'allowed error relative to the output magnitude', '1e-4')
  .option('--atol <x>', 'allowed absolute error', '1e-6')
  .option('--seed <n>', 'seed of the random inputs', '1')
  .option('--json', 'print JSON')
  .action((model: string, opts) => withFile(model, async () => (await import('./verify.js')).verifyCommand(model, opts)));

precisionOptions(program
  .command('bench'))
  .description('latency of the original and the compiled model in the same run, and their ratio')
  .argument('<model>', 'an .onnx file')
  .option('--ep <ep>', 'execution provider: cpu, wasm, webgpu, cuda', 'cpu')
  .option('--shape <name=DIMS>', 'input shape (repeatable)', collect)
  .option('--passes <list>', "passes ('default', 'none', a,b,c)", 'default')
  .option('--runs <n>', 'timed runs of each model', '20')
  .option('--warmup <n>', 'untimed runs first', '3')
  .option('--threads <n>', 'intra-op (cpu) or wasm threads', '1')
  .option('--seed <n>', 'seed of the random inputs', '1')
  .option('--json', 'print JSON')
  .action((model: string, opts) => withFile(model, async () => (await import('./bench.js')).benchCommand(model, opts)));

program
  .command('serve')
  .description('serve the msgraph page (compile, inspect and run models in the browser) on 127.0.0.1')
  .argument('[model]', 'an .onnx file to open in the page')
  .option('--port <n>', 'port (0: any free port)', '8787')
  .action((model: string | undefined, opts: { port: string }) => withFile(model, async () => (await import('./serve.js')).serveCommand(model, opts)));

function fail(e: unknown): never {
  const debug = process.argv.includes('--debug');
  if (isMsgraphError(e)) {
    process.stderr.write(`msgraph: error: ${termSafe(e.oneLine())}\n`);
    if (debug) process.stderr.write(`${e.stack}\n`);
    process.exit(2);
  }
  if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : 2);
  const err = e as Error;
  process.stderr.write(`msgraph: internal error: ${termSafe(err?.message ?? String(e))}${debug ? '' : ' (run with --debug for the stack)'}\n`);
  if (debug) process.stderr.write(`${err?.stack}\n`);
  process.exit(1);
}

// No SIGINT handler while computing: Ctrl-C stops at once. Outputs are staged and renamed into place
// (cli/interrupt.ts), so stopping never leaves a partial output.

program.parseAsync(process.argv).catch(fail);
