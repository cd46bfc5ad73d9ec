// The whole build: TypeScript into dist/, the page into dist/web (scripts/build-web.mjs), and the `msgraph` bin
// made executable (tsc writes files without the execute bit, and `npx msgraph` runs the file directly).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
execFileSync(process.execPath, [path.join(root, 'scripts/build-web.mjs')], { cwd: root, stdio: 'inherit' });
fs.chmodSync(path.join(root, 'dist/cli/main.js'), 0o755);
