import { loadModelFile } from './dist/src/frontend/onnx/node-fs.js';
import { inferShapes } from './dist/src/frontend/ops/infer.js';
import { formatType } from './dist/src/ir/shape.js';
import fs from 'fs';
const files = process.argv.slice(2);
for (const f of files) {
  try {
    const m = loadModelFile(f);
    const r = inferShapes(m);
    console.log(f.split('/').pop(), 'typed', r.typed, 'unknown', r.unknown.length, r.unknown.slice(0,3).map(v=>v.name+':'+formatType(v.type)).join(' '), 'unsupported', r.unsupported.length, r.unsupported.slice(0,2).map(u=>u.op+' '+u.reason).join('; '), '| out', m.graph.outputs.map(v=>formatType(v.type)).join(' '));
  } catch (e) { console.log(f.split('/').pop(), 'ERR', e.oneLine ? e.oneLine() : e.stack); }
}
