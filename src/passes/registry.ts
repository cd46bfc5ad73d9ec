/** Every pass by name, and the default pipelines. */
import type { Pass } from './pass.js';
import { foldConstants, foldLiterals } from './common/fold-constants.js';
import { removeNoops } from './common/remove-noops.js';
import { cse } from './common/cse.js';
import { dce } from './common/dce.js';
import { fuseAttentionPass } from './fusion/attention.js';
import { fuseActivationsPass } from './fusion/activations.js';
import { fuseMhaPass } from './fusion/mha.js';
import { fuseGroupNormPass, fuseLayerNormPass, fuseRmsNormPass } from './fusion/norms.js';
import { fuseGegluPass } from './fusion/geglu.js';
import { fuseRotaryPass } from './fusion/rotary.js';
import { foldBatchNorm } from './fusion/fold-batch-norm.js';
import { foldPad } from './fusion/fold-pad.js';
import { mergeLayout } from './common/merge-layout.js';
import { moduleContracts } from './common/module-contracts.js';
import { expandIdiom } from './common/expand-idiom.js';
import { freeDims } from './common/free-dims.js';
import { halfPrecision } from './common/half.js';

export const PASSES: ReadonlyMap<string, Pass> = new Map(
  [
    foldConstants, foldLiterals, removeNoops, cse, dce, mergeLayout, fuseAttentionPass, fuseMhaPass, fuseActivationsPass, fuseGroupNormPass, fuseLayerNormPass,
    fuseRmsNormPass, fuseGegluPass, fuseRotaryPass, foldBatchNorm, foldPad, moduleContracts, expandIdiom, freeDims, halfPrecision,
  ].map((p) => [p.name, p]),
);

/**
 * Fusions only the MindSpore backend takes: GroupNorm stays in its InstanceNormalization form on ONNX Runtime, which
 * measured faster there than GroupNormalization-21 (and cpu/wasm/webgpu have no GroupNorm contrib kernel); GEGLU has
 * no kernel on those EPs; onnxruntime's RotaryEmbedding wants cos/sin caches and position ids, not computed cos/sin.
 */
export const MINDSPORE_ONLY_FUSIONS: readonly string[] = ['fuse-group-norm', 'fuse-geglu', 'fuse-rotary'];

/** Fusions the MindSpore backend runs (each fused op has a mint API or a helper there), with the dce multi-head attention needs after attention. */
export const MINDSPORE_FUSIONS: readonly string[] = ['fuse-group-norm', 'fuse-layer-norm', 'fuse-rms-norm', 'fuse-attention', 'dce', 'fuse-mha', 'fuse-activations', 'fuse-geglu', 'fuse-rotary'];

/**
 * The MindSpore target's default: literals folded (fold-literals: integer constants and scalars, never a parameter or
 * shape arithmetic), torch's expand(-1) arithmetic read as the shape it builds (expand-idiom), its fusions, one copy
 * per module of the values torch's exporter shared across modules
 * (module-contracts), and dead-code removal. Not the onnx target's canonicalisation: folding
 * turns a parameter's transpose or unsqueeze into a new constant (no state_dict name, not trainable), removing
 * Identity loses the names torch gives shared parameters, and CSE merges values computed once per module into one
 * shared across modules. `--passes` chooses otherwise.
 */
export const MINDSPORE_PIPELINE: readonly string[] = ['fold-literals', 'free-dims', 'expand-idiom', ...MINDSPORE_FUSIONS, 'module-contracts', 'dce'];

/**
 * Canonicalisation (fold, drop no-ops, merge duplicates, drop dead code), then attention: fused, and where the head
 * split/merge reshapes surround it, one multi-head attention on [B, S, D] tensors; consecutive layout ops merged;
 * LayerNorm, RMSNorm and the activations; BatchNorm and Pad folded into the convolutions. The ONNX Runtime target
 * lowers each fused op to the EP's kernel where it has one and expands the rest back.
 */
export const DEFAULT_PIPELINE: readonly string[] = [
  'fold-constants', 'remove-noops', 'cse', 'fuse-attention', 'dce', 'fuse-mha', 'merge-layout', 'fuse-layer-norm', 'fuse-rms-norm',
  'fuse-activations', 'fold-batch-norm', 'fold-pad', 'fold-constants', 'remove-noops', 'dce',
];

/** `default` (the target's pipeline), `none`, or a comma-separated list of pass names. */
export function parsePassList(spec: string, dflt: readonly string[] = DEFAULT_PIPELINE): string[] {
  const s = spec.trim();
  if (s === 'default') return [...dflt];
  if (s === 'none' || s === '') return [];
  return s.split(',').map((x) => x.trim()).filter(Boolean).flatMap((x) => (x === 'default' ? [...dflt] : [x]));
}
