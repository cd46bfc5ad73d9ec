// The whole build: TypeScript into dist/, the page into dist/web (scripts/build-web.mjs), and the `msgraph` bin: the
// CLI bundled (dist/cli/msgraph.js, which loads in a third of the time of the 150 modules it is made of), each
// command's code in chunks of its own beside it (dist/cli/msgraph-*.js, loaded when the command runs), made
// executable (`npx msgraph` runs the file directly).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
execFileSync(process.execPath, [path.join(root, 'scripts/build-web.mjs')], { cwd: root, stdio: 'inherit' });
const esbuild = await import('esbuild');
const cliDir = path.join(root, 'dist/cli');
for (const f of fs.readdirSync(cliDir)) if (/^msgraph-.*\.js(\.map)?$/.test(f)) fs.rmSync(path.join(cliDir, f));
await esbuild.build({
  entryPoints: { msgraph: path.join(root, 'cli/main.ts') }, outdir: cliDir, chunkNames: 'msgraph-[name]-[hash]', splitting: true,
  bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', sourcemap: true, logLevel: 'warning', legalComments: 'none',
});
fs.chmodSync(path.join(root, 'dist/cli/msgraph.js'), 0o755);
fs.chmodSync(path.join(root, 'dist/cli/main.js'), 0o755);
