#!/usr/bin/env node
// The `msgraph` command (written into dist/cli/msgraph.js by scripts/build.mjs, with the names filled in).
//
// The CLI is one script, the bundle beside this file. Starting it costs V8 parsing and compiling every function
// a command runs, most of them once: the build compiles shipped models with both targets and keeps V8's code cache
// of what those runs compiled, and this loader hands that cache to V8 with the script. The bundle's name carries its content hash
// and the cache's name the same hash, so a cache is only ever offered to the script it was made from; V8 itself
// refuses one made by another V8 version or with other flags, and the script is then compiled as usual.
// MSGRAPH_CODE_CACHE=<file> makes the loader write the cache there when the process exits (the build uses it).
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const file = path.join(here, '__BUNDLE__');
let cachedData;
try {
  cachedData = fs.readFileSync(path.join(here, '__CACHE__'));
} catch {
  cachedData = undefined;
}
const wrapped = `(function (exports, require, module, __filename, __dirname) {${fs.readFileSync(file, 'utf8')}\n})`;
const script = new vm.Script(wrapped, { filename: file, cachedData });
const out = process.env.MSGRAPH_CODE_CACHE;
if (out) process.on('exit', () => fs.writeFileSync(out, script.createCachedData()));
const module = { exports: {} };
script.runInThisContext()(module.exports, createRequire(file), module, file, here);
