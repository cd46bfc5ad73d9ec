/**
 * The classes of the MindSpore packages against the PyTorch modules they port: one class per module kind (numbers
 * become constructor arguments, optional parts become guarded members and arguments), counted on the zoo against
 * the module classes its export recorded (models/zoo/export.py: classes with computation of their own).
 */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadModelFile } from '../../src/frontend/onnx/node-fs.js';
import { buildMindSporePackage } from '../../src/backends/mindspore/package.js';
import { portStats } from '../../src/backends/mindspore/stats.js';
import { ZOO_DIR } from '../helpers/ort.js';
import { packageText } from '../helpers/standin.js';

const manifestFile = path.join(ZOO_DIR, 'manifest.json');
const manifest = fs.existsSync(manifestFile)
  ? (JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as Record<string, { file: string; module_classes?: string[] }>)
  : {};
const code = (name: string) => packageText(buildMindSporePackage(loadModelFile(path.join(ZOO_DIR, manifest[name]!.file)), { source: manifest[name]!.file }).files, 'model.py');
const hasClasses = Object.values(manifest).some((m) => m.module_classes);
if (!hasClasses) console.warn(`\n*** SKIPPED class counts: no zoo manifest with module classes at ${ZOO_DIR} (run the test command as root, or export the zoo) ***\n`);

describe.skipIf(!hasClasses)('classes against the PyTorch module classes (zoo)', () => {
  it('the mid block and the UNet give one class per PyTorch module class', () => {
    expect(portStats(code('mid_block')).classes.length).toBe(manifest.mid_block!.module_classes!.length);
    expect(portStats(code('unet')).classes.length).toBe(manifest.unet!.module_classes!.length);
  });

  it('blocks that return fewer results share the class: the caller takes what it uses', () => {
    // The down block with a downsampler returns (skip, downsampled); the last one's skip is its output.
    const unet = code('unet');
    expect(unet).toMatch(/ {8}if self\.downsamplers is not None:\n {12}(\w+) = self\.downsamplers\[0\]\((\w+)\)\n {8}else:\n {12}\1 = \2\n {8}return \2, \1\n/);
    expect(unet).toMatch(/\w+_0, \w+_1 = self\.down_blocks\[0\]\(/);
    expect(unet).toMatch(/down_blocks_1, _ = self\.down_blocks\[1\]\(/);
  });

  it('the whole zoo holds at most 1.2x as many classes as PyTorch module classes, every instantiation passing what __init__ declares', () => {
    let [ours, theirs] = [0, 0];
    for (const [name, m] of Object.entries(manifest)) {
      const text = code(name);
      ours += portStats(text).classes.length;
      theirs += m.module_classes!.length;
      for (const [, cls, params] of text.matchAll(/class (\w+)\(nn\.Cell\):\n.*\n {4}def __init__\(self(?:, )?([^)]*)\):/g)) {
        const declared = params ? params.split(', ') : [];
        for (const [, args] of text.matchAll(new RegExp(`(?<!class )\\b${cls}\\(([^()]*)\\)`, 'g'))) {
          expect((args ? args.split(', ') : []).map((a) => a.split('=')[0]), `${name}: ${cls}`).toEqual(declared);
        }
      }
    }
    expect(ours).toBeLessThanOrEqual(1.2 * theirs);
  });

  it('shape plumbing is at most 15% of construct() statements on the zoo UNet', () => {
    const s = portStats(code('unet'));
    expect(s.plumbing / s.statements).toBeLessThanOrEqual(0.15);
  });

  it('a block with an optional part is one class: built when needed, guarded where used', () => {
    const resnet = code('resnet18');
    expect(portStats(resnet).classes).toHaveLength(2);
    expect(resnet).toContain('def __init__(self, in_channels, out_channels, stride):');
    expect(resnet).toMatch(/ {8}if in_channels != out_channels:\n {12}self\.downsample = nn\.CellList\(\[mint\.nn\.Conv2d\(in_channels, out_channels, 1, stride=stride\)\]\)\n {8}else:\n {12}self\.downsample = None/);
    expect(resnet).toMatch(/ {8}if self\.downsample is not None:\n {12}(\w+) = self\.downsample\[0\]\(x\)\n {8}else:\n {12}\1 = x/);
    // Self- and cross-attention: one class whose context defaults to the hidden states.
    const unet = code('unet_tiny');
    expect(unet).toMatch(/def construct\(self, hidden_states, encoder_hidden_states=None\):\n {8}if encoder_hidden_states is None:\n {12}encoder_hidden_states = hidden_states/);
    expect(unet).toMatch(/self\.attn1 = Attn\(.*\)\n.*\n {8}self\.attn2 = Attn\(/);
  });
});

describe('port statistics', () => {
  it('counts classes, construct() statements (not copies) and the plumbing among them', () => {
    const s = portStats([
      'class A(nn.Cell):', '    def __init__(self):', '        super().__init__()', '', '    def construct(self, x):',
      '        b = x.shape[0]', '        y = mint.permute(x, (0, 2, 1))', '        z = self.conv(y)', '        if self.p is not None:',
      '            z = self.p(z)', '        else:', '            z = y', '        return z.reshape((b, -1))',
    ].join('\n'));
    expect(s).toEqual({ classes: ['A'], statements: 4, plumbing: 2 });
  });
});
