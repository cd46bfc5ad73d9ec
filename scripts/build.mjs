// The whole build: TypeScript into dist/, the page into dist/web (scripts/build-web.mjs), and the `msgraph` bin:
// the CLI bundled into one CommonJS script (dist/cli/msgraph-<hash>.cjs), V8's code cache for it
// (msgraph-<hash>.cache, made by compiling shipped models with it), and the executable loader that runs the one
// with the other (dist/cli/msgraph.js, from scripts/cli-loader.mjs; `npx msgraph` runs it directly).
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as os from 'node:os';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
execFileSync(process.execPath, [path.join(root, 'scripts/build-web.mjs')], { cwd: root, stdio: 'inherit' });
const esbuild = await import('esbuild');
const cliDir = path.join(root, 'dist/cli');
for (const f of fs.readdirSync(cliDir)) if (/^msgraph[-.].*(js|cjs|map|cache)$/.test(f)) fs.rmSync(path.join(cliDir, f));
// A classic script cannot import() (not without an experimental flag): the onnxruntime packages, loaded when a command
// needs them, are required instead (both ship a CommonJS build for Node).
const requireRuntimes = {
  name: 'require-runtimes',
  setup(b) {
    b.onResolve({ filter: /^onnxruntime-(node|web)$/ }, (a) => {
      if (a.kind === 'dynamic-import') return { path: a.path, namespace: 'require-runtime' };
      return a.namespace === 'require-runtime' ? { path: a.path, external: true } : undefined;
    });
    b.onLoad({ filter: /.*/, namespace: 'require-runtime' }, (a) => ({ contents: `module.exports = require(${JSON.stringify(a.path)});`, loader: 'js' }));
  },
};
// One CommonJS script (a classic script is what V8's code cache takes), named after its content.
const bundle = await esbuild.build({
  entryPoints: [path.join(root, 'cli/main.ts')], outfile: path.join(cliDir, 'msgraph.cjs'), write: false,
  bundle: true, platform: 'node', format: 'cjs', target: 'node20', packages: 'external', sourcemap: 'external', logLevel: 'warning', legalComments: 'none',
  define: { 'import.meta.url': '__msgraph_url', 'import.meta.dirname': '__dirname' }, plugins: [requireRuntimes],
  banner: { js: 'const __msgraph_url = require("node:url").pathToFileURL(__filename).href;' },
});
const code = bundle.outputFiles.find((f) => f.path.endsWith('.cjs'));
const map = bundle.outputFiles.find((f) => f.path.endsWith('.map'));
// The entry's #! line would be a syntax error inside the loader's function wrapper; it becomes a comment.
const text = code.text.replace(/^#!/, '//').replace(/\/\/# sourceMappingURL=.*\n?$/, '');
const hash = createHash('sha256').update(text).digest('hex').slice(0, 16);
const name = `msgraph-${hash}.cjs`;
fs.writeFileSync(path.join(cliDir, name), `${text}//# sourceMappingURL=${name}.map\n`);
fs.writeFileSync(path.join(cliDir, `${name}.map`), map.contents);
const cache = `msgraph-${hash}.cache`;
const loader = fs.readFileSync(path.join(root, 'scripts/cli-loader.mjs'), 'utf8').replace('__BUNDLE__', name).replace('__CACHE__', cache);
fs.writeFileSync(path.join(cliDir, 'msgraph.js'), loader);
fs.chmodSync(path.join(cliDir, 'msgraph.js'), 0o755);
// The code cache: what compiling two shipped models (a convolutional UNet and a transformer) with each target
// compiles. Each run starts from the last one's cache and writes it again, with what it compiled added.
const warm = fs.mkdtempSync(path.join(os.tmpdir(), 'msgraph-build-'));
try {
  const runs = [
    ['models/unet_tiny.onnx', '--target', 'onnx', '-o', path.join(warm, 'm.onnx')],
    ['models/bert.onnx', '--target', 'onnx', '-o', path.join(warm, 'm.onnx')],
    ['models/unet_tiny.onnx', '--target', 'mindspore', '-o', path.join(warm, 'pkg')],
    ['models/bert.onnx', '--target', 'mindspore', '-o', path.join(warm, 'pkg')],
  ];
  for (const [model, ...args] of runs) {
    // V8 refuses a cache made under other V8 flags: the runs get none (NODE_OPTIONS may carry some), as `msgraph` has.
    const env = { ...process.env, MSGRAPH_CODE_CACHE: path.join(cliDir, cache) };
    delete env.NODE_OPTIONS;
    const r = spawnSync(process.execPath, [path.join(cliDir, 'msgraph.js'), 'compile', path.join(root, model), ...args], { cwd: root, encoding: 'utf8', env });
    if (r.status !== 0 && r.status !== 3) throw new Error(`build: the code cache run failed: ${r.stderr}`);
  }
} finally {
  fs.rmSync(warm, { recursive: true, force: true });
}
fs.chmodSync(path.join(root, 'dist/cli/main.js'), 0o755);
