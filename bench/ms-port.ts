/**
 * What the MindSpore packages are made of, per zoo model: the classes model.py holds against the PyTorch module
 * classes with computation of their own (recorded by the zoo export), and the share of construct() statements that
 * are shape plumbing.
 *
 *   node dist/bench/ms-port.js [--zoo DIR]
 * The zoo defaults to models/.cache/zoo (MSGRAPH_ZOO).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModelFile } from '../src/frontend/onnx/node-fs.js';
import { concatChunks } from '../src/frontend/onnx/index.js';
import { buildMindSporePackage } from '../src/backends/mindspore/package.js';
import { portStats } from '../src/backends/mindspore/stats.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const at = process.argv.indexOf('--zoo');
const zoo = at > 0 ? process.argv[at + 1]! : process.env.MSGRAPH_ZOO ?? path.join(root, 'models/.cache/zoo');
const manifestFile = path.join(zoo, 'manifest.json');
if (!fs.existsSync(manifestFile)) {
  console.error(`no zoo at ${zoo}: export it with /usr/bin/python3 models/zoo/export.py ${zoo}`);
  process.exit(2);
}
const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as Record<string, { file: string; module_classes?: string[] }>;
let [pkgTotal, torchTotal] = [0, 0];
console.log('model'.padEnd(20), 'classes', 'torch', 'ratio', 'plumbing');
for (const [name, m] of Object.entries(manifest).sort()) {
  const file = path.join(zoo, m.file);
  const pkg = buildMindSporePackage(loadModelFile(file), { source: m.file });
  const code = new TextDecoder().decode(concatChunks([...pkg.files.find(([n]) => n === 'model.py')![1]]));
  const s = portStats(code);
  const torch = m.module_classes?.length ?? NaN;
  pkgTotal += s.classes.length;
  torchTotal += torch;
  const share = s.statements ? s.plumbing / s.statements : 0;
  console.log(name.padEnd(20), String(s.classes.length).padStart(7), String(torch).padStart(5), (s.classes.length / torch).toFixed(2).padStart(5), `${(100 * share).toFixed(1)}% (${s.plumbing}/${s.statements})`);
}
console.log('all'.padEnd(20), String(pkgTotal).padStart(7), String(torchTotal).padStart(5), (pkgTotal / torchTotal).toFixed(2).padStart(5));
