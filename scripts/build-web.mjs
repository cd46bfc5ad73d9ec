// Builds the page into dist/web: the app and its compiler worker bundled with esbuild (ESM, browser), the static files, and
// onnxruntime-web's scripts and wasm binaries under dist/web/ort (served locally, never from a CDN).
import * as esbuild from 'esbuild';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist/web');
fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(path.join(out, 'ort'), { recursive: true });
const common = { bundle: true, format: 'esm', platform: 'browser', target: 'es2022', sourcemap: true, logLevel: 'warning', legalComments: 'none' };
await esbuild.build({ ...common, entryPoints: [path.join(root, 'web/app.ts')], outfile: path.join(out, 'app.js'), external: ['onnxruntime-web'], minify: true });
await esbuild.build({ ...common, entryPoints: [path.join(root, 'web/worker.ts')], outfile: path.join(out, 'worker.js'), minify: true });
// The library build: `msgraph/browser`.
await esbuild.build({ ...common, entryPoints: [path.join(root, 'src/browser.ts')], outfile: path.join(root, 'dist/browser/msgraph.js') });
for (const f of ['index.html', 'app.css']) fs.copyFileSync(path.join(root, 'web', f), path.join(out, f));
const ortDist = path.join(root, 'node_modules/onnxruntime-web/dist');
for (const f of fs.readdirSync(ortDist)) {
  if (f === 'ort.all.min.mjs' || /^ort-wasm-simd-threaded\.([a-z]+\.)?(mjs|wasm)$/.test(f)) fs.copyFileSync(path.join(ortDist, f), path.join(out, 'ort', f));
}
console.log(`web: ${path.relative(root, out)} (${fs.readdirSync(out).length} entries)`);
