/**
 * Compile time in the page (chromium, the built page served by `msgraph serve`) against the same compile in
 * Node (what `msgraph compile --target onnx` does after reading the file), for the same model and EP, in one run.
 * Both start from the model's bytes in memory: decode, passes, lowering, plan and encoding (the page's compile step;
 * in Node, decodeModelBytes + compileForOrt + encodeModelBytes, what `msgraph compile` does after reading the file).
 * Prints page/Node ratios (the aim is at most 2x).
 *
 *   node dist/bench/web-compile.js [--runs N] [--only a,b] [--file model.onnx]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';
import { startServer } from '../cli/serve.js';
import { loadModelFile } from '../src/frontend/onnx/node-fs.js';
import { compileForOrt } from '../src/backends/ort/compile.js';
import { concatChunks, decodeModelBytes, encodeModelBytes } from '../src/frontend/onnx/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : dflt;
};
const runs = Number(arg('--runs', '5'));
const only = arg('--only', '').split(',').filter(Boolean);
const zoo = process.env.MSGRAPH_ZOO ?? path.join(root, 'models/.cache/zoo');
const models = [path.join(root, 'models/unet_tiny.onnx'), path.join(root, 'models/bert.onnx'), path.join(zoo, 'unet.onnx'), path.join(zoo, 'vit.onnx'), path.join(zoo, 'resnet18.onnx')]
  .filter((f) => fs.existsSync(f) && (!only.length || only.includes(path.basename(f, '.onnx'))))
  .concat(process.argv.includes('--file') ? [path.resolve(arg('--file', ''))] : []);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const server = await startServer({ port: 0 });
const addr = server.address();
const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/`;
const browser = await puppeteer.launch({
  executablePath: process.env.MSGRAPH_CHROMIUM ?? '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--enable-unsafe-webgpu', '--disable-background-networking'],
});
console.log('model                 nodes   node ms   page ms   page/node');
try {
  for (const file of models) {
    // Both sides start from the file's bytes in memory and decode, compile and encode; two warm-up rounds each
    // (the page's compiler worker also compiled once when the file was opened).
    const bytes = new Uint8Array(fs.readFileSync(file));
    const node: number[] = [];
    for (let i = 0; i < runs + 2; i++) {
      const t0 = performance.now();
      const r = compileForOrt(decodeModelBytes(bytes, { file }), { ep: 'wasm' });
      concatChunks(encodeModelBytes(r.model).chunks);
      if (i >= 2) node.push(performance.now() - t0);
    }
    const page = await browser.newPage();
    await page.goto(url);
    await page.waitForFunction('document.body.dataset.ready === "1"');
    await page.select('#ep', 'wasm');
    const gen = () => page.evaluate('window.msgraphPage.state.generation') as Promise<number>;
    const wait = (g: number) => page.waitForFunction(`window.msgraphPage.state.generation > ${g} && !window.msgraphPage.state.busy`, { timeout: 600_000 });
    let g = await gen();
    await (await page.$('#file'))!.uploadFile(file);
    await wait(g);
    const web: number[] = [];
    for (let i = 0; i < runs + 2; i++) {
      g = await gen();
      await page.click('#recompile');
      await wait(g);
      // The page's compile step: reading the model back from its bytes, the passes, lowering, plan and encoding.
      if (i >= 2) web.push((await page.evaluate('window.msgraphPage.state.compiled.ms')) as number);
    }
    const errors = (await page.evaluate('window.msgraphPage.state.errors')) as string[];
    if (errors.length) throw new Error(`${path.basename(file)}: ${errors.join('; ')}`);
    await page.close();
    const n = loadModelFile(file).graph.nodeCount;
    console.log(`${path.basename(file, '.onnx').padEnd(20)} ${String(n).padStart(6)}  ${median(node).toFixed(0).padStart(8)}  ${median(web).toFixed(0).padStart(8)}   ${(median(web) / median(node)).toFixed(2).padStart(8)}x`);
  }
} finally {
  await browser.close();
  server.close();
}
