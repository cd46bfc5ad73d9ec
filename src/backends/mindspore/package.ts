/**
 * The files of an emitted MindSpore package, built in memory (so a failure leaves nothing half-written):
 * model.py, the weights (safetensors or .ckpt), weight_map.json, report.json + report.md and run_example.py.
 */
import { MsgraphError } from '../../errors.js';
import type { Model } from '../../ir/model.js';
import { dtypeFromName } from '../../ir/dtype.js';
import { emitMindSpore, type EmitResult, type MindSporeOptions } from './emit.js';
import { ckptChunks, safetensorsChunks, type Chunks, type WeightEntry } from './weights.js';
import { identifier, pyComment, pyString } from './python.js';
import { VERSION } from '../../version.js';

export interface PackageOptions extends MindSporeOptions {
  weights?: 'safetensors' | 'ckpt';
  /** Refuse to emit a package with fallbacks. */
  strict?: boolean;
  /** The weight file is written chunk by chunk (a file writer): computed weights share one buffer (weights.ts). */
  reuseBuffers?: boolean;
}

export interface MindSporePackage {
  /** File name and contents; the weight file's chunks are produced while it is written (see weights.ts). */
  files: [string, Chunks][];
  result: EmitResult;
  /** True when some op has no mapping (the package raises NotImplementedError there). */
  partial: boolean;
}

const enc = (s: string) => new TextEncoder().encode(s);

export function buildMindSporePackage(model: Model, opts: PackageOptions = {}): MindSporePackage {
  const weights = opts.weights ?? 'safetensors';
  if (weights === 'safetensors' && ['2.3.0', '2.3.1'].includes(opts.msVersion ?? '')) {
    throw new MsgraphError('usage', `MindSpore ${opts.msVersion} cannot load safetensors (2.4.0 and later can)`, { hint: 'use --weights ckpt' });
  }
  const result = emitMindSpore(model, opts);
  if (opts.strict && result.fallbacks.length) {
    const f = result.fallbacks[0]!;
    throw new MsgraphError('unsupported', `${result.fallbacks.length} op(s) have no MindSpore mapping, first ${f.op}: ${f.reason}`, { node: f.node });
  }
  const entries: WeightEntry[] = result.params.map((p) => ({ name: p.name, dtype: dtypeFromName(p.dtype)!, dims: p.dims, nbytes: p.nbytes, load: p.load }));
  const weightFile = weights === 'ckpt' ? 'model.ckpt' : 'model.safetensors';
  const chunking = { reuseBuffers: opts.reuseBuffers };
  const weightChunks = weights === 'ckpt' ? ckptChunks(entries, chunking) : safetensorsChunks(entries, { format: 'np', producer: `msgraph ${VERSION}` }, chunking);
  const files: [string, Chunks][] = [
    ['model.py', [enc(result.code)]],
    [weightFile, weightChunks],
    ['weight_map.json', [enc(weightMap(result, weightFile))]],
    ['report.json', [enc(JSON.stringify(reportJson(result, opts, weightFile), null, 2) + '\n')]],
    ['report.md', [enc(reportMd(result, opts, weightFile))]],
    ['run_example.py', [enc(runExample(result, weightFile))]],
  ];
  return { files, result, partial: result.fallbacks.length > 0 };
}

function weightMap(r: EmitResult, weightFile: string): string {
  const bySource: Record<string, { parameter: string; transform?: string }[]> = {};
  const params: Record<string, unknown> = {};
  for (const p of r.params) {
    params[p.name] = { source: p.source || null, shape: p.dims, dtype: p.dtype, kind: p.kind, ...(p.transform ? { transform: p.transform } : {}) };
    if (p.source) (bySource[p.source] ??= []).push({ parameter: p.name, ...(p.transform ? { transform: p.transform } : {}) });
  }
  return JSON.stringify({ file: weightFile, ms_version: r.msVersion, onnx_to_parameter: bySource, parameters: params }, null, 2) + '\n';
}

function mappingObject(r: EmitResult): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const op of [...r.mapping.keys()].sort()) out[op] = Object.fromEntries([...r.mapping.get(op)!.entries()].sort());
  return out;
}

function reportJson(r: EmitResult, opts: PackageOptions, weightFile: string): unknown {
  return {
    generator: `msgraph ${VERSION}`,
    source: opts.source ?? null,
    ms_version: r.msVersion,
    attention: opts.attention ?? 'math',
    top_class: r.topClass,
    classes: r.classes,
    weights: weightFile,
    parameters: r.params.length,
    parameter_elements: r.params.reduce((s, p) => s + p.dims.reduce((a, b) => a * b, 1), 0),
    inputs: r.inputs.map((i) => ({ name: i.name, argument: i.pyName, dtype: i.dtype, shape: i.shape })),
    outputs: r.outputs,
    op_mapping: mappingObject(r),
    fusions: { attention: r.attention.fused, group_norm: r.groupNorms, layer_norm: r.layerNorms, gelu: r.activations.gelu, silu: r.activations.silu, hardswish: r.activations.hardswish, hardsigmoid: r.activations.hardsigmoid, geglu: r.geglus },
    near_misses: r.nearMisses,
    input_sizes: r.sizes,
    partial: r.fallbacks.length > 0,
    fallbacks: r.fallbacks,
    warnings: r.warnings,
    // Asked for with --profile only: times differ run to run, and the report is otherwise byte-identical.
    ...(opts.profile ? { profile: opts.profile.phases } : {}),
  };
}

/**
 * Markdown from model names: a name is data, never markup. Text escapes what Markdown or HTML reads as syntax inside
 * a line (every use here follows `- ` or `| `, so line-start syntax cannot arise) and spells control characters; a
 * code span cannot be left (no backticks inside).
 */
export function mdText(s: string): string {
  return pyComment(s, 200).replace(/[\\`*_[\]|<>&~]/g, (c) => (c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '&' ? '&amp;' : `\\${c}`));
}

export function mdCode(s: string): string {
  return `\`${pyComment(s, 100).replace(/`/g, "'").replace(/\|/g, '\\|')}\``;
}

function reportMd(r: EmitResult, opts: PackageOptions, weightFile: string): string {
  const lines: string[] = [];
  lines.push(`# MindSpore package for ${mdText(opts.source ?? 'the model')}`);
  lines.push('');
  lines.push(`- Target: MindSpore ${mdText(r.msVersion)} (mint API); class ${mdCode(r.topClass)} in model.py, ${r.classes.length} classes in all.`);
  lines.push(`- Weights: ${weightFile}, ${r.params.length} parameters (names in weight_map.json).`);
  lines.push(`- Fused: ${r.attention.fused} attention block(s) into \`scaled_dot_product_attention\` (attention path: ${opts.attention ?? 'math'}), ${r.groupNorms} GroupNorm, ${r.layerNorms} LayerNorm, ${r.activations.gelu} GELU (${r.geglus} of them in GEGLU), ${r.activations.silu} SiLU.`);
  lines.push(`- Status: ${r.fallbacks.length ? `**partial** — ${r.fallbacks.length} op(s) without a mapping raise NotImplementedError` : 'complete — every op is mapped'}.`);
  lines.push('');
  lines.push('## Op mapping');
  lines.push('');
  lines.push('| ONNX op | becomes | count |');
  lines.push('|---|---|---|');
  for (const [op, m] of Object.entries(mappingObject(r))) for (const [what, n] of Object.entries(m)) lines.push(`| ${mdText(op)} | ${mdText(what)} | ${n} |`);
  if (r.fallbacks.length) {
    lines.push('');
    lines.push('## Fallbacks');
    lines.push('');
    for (const f of r.fallbacks) lines.push(`- ${mdCode(f.op)} at node ${mdCode(f.node)}: ${mdText(f.reason)}`);
  }
  lines.push('', '## Input sizes', '');
  if (!r.sizes) lines.push('- As the export wrote them (`--static`, or a pass list without free-dims): a dim with a number takes only that size.');
  else {
    for (const i of r.sizes.inputs) {
      const free = i.dims.filter((d): d is string => typeof d === 'string' && !r.sizes!.pinned.some((p) => p.dim === d));
      lines.push(`- ${mdCode(i.name)} [${i.dims.map((d) => mdText(String(d))).join(', ')}]: ${free.length ? `free: ${free.map(mdText).join(', ')}` : 'no size free'}.`);
    }
    for (const p of r.sizes.pinned) lines.push(`- ${mdCode(p.dim)} stays ${p.size} at run time: ${mdText(p.by)} is that size (a size learned in the weights).`);
    for (const f of r.sizes.fixed) lines.push(`- Fixed at ${mdCode(f.node)}: ${mdText(f.reason)}; other sizes fail there.`);
  }
  if (r.nearMisses.length) {
    lines.push('');
    lines.push('## Fusion near-misses');
    lines.push('');
    for (const m of r.nearMisses) lines.push(`- ${mdCode(m.node)}: ${mdText(m.reason)}`);
  }
  if (r.warnings.length) {
    lines.push('');
    lines.push('## Warnings');
    lines.push('');
    for (const w of r.warnings) lines.push(`- ${mdText(w)}`);
  }
  return lines.join('\n') + '\n';
}

function runExample(r: EmitResult, weightFile: string): string {
  const fmt = weightFile.endsWith('.ckpt') ? 'ckpt' : 'safetensors';
  const inputs = r.inputs.map((i) => {
    const shape = (i.shape ?? []).map((d, k) => (typeof d === 'number' ? d : k === 0 ? 1 : 16));
    const tuple = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
    const ms = dtypeFromName(i.dtype ?? 'float32')?.ms ?? 'ms.float32';
    const make = /float/.test(i.dtype ?? 'float32') ? `mint.randn(${tuple}, dtype=${ms})` : `mint.zeros(${tuple}, dtype=${ms})`;
    return `    ${identifier(i.pyName)} = ${make}  # ${pyComment(i.name, 60)}: ${pyComment(JSON.stringify(i.shape), 60)}`;
  });
  const args = r.inputs.map((i) => identifier(i.pyName)).join(', ');
  return `"""Builds ${r.topClass} from model.py, loads ${weightFile} and runs it once on example inputs.

Symbolic dims get example sizes below; change them to your data's.
"""
import os

import mindspore as ms
from mindspore import mint

from model import ${r.topClass}

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ms.set_context(mode=ms.GRAPH_MODE)
    net = ${r.topClass}()
    net.set_train(False)
${r.params.length ? `    params = ms.load_checkpoint(os.path.join(HERE, ${pyString(weightFile)})${fmt === 'safetensors' ? ', format="safetensors"' : ''})
    not_loaded, unused = ms.load_param_into_net(net, params)
    if not_loaded or unused:
        raise SystemExit("weights do not match the Cell: not loaded %s, unused %s" % (not_loaded, unused))
` : `    # The model has no parameters, so there is no checkpoint to load (MindSpore refuses an empty one).
`}${inputs.join('\n')}
    outputs = net(${args})
    if not isinstance(outputs, tuple):
        outputs = (outputs,)
    for name, out in zip(${JSON.stringify(r.outputs.map((o) => pyComment(o.name, 60)))}, outputs):
        print(name, out.dtype, tuple(out.shape))


if __name__ == "__main__":
    main()
`;
}
