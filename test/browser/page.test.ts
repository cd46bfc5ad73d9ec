/**
 * The page in a real browser (Debian's chromium through puppeteer-core, SwiftShader's WebGPU adapter): open a zoo
 * model, compile it, run it on wasm and on webgpu; the outputs equal onnxruntime-node's within tolerance and the
 * fusion counts equal the CLI's. Bad input gets a visible, specific message and the page stays usable; the console
 * shows no errors. Screenshots go to test-output/browser/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Server } from 'node:http';
import { startServer } from '../../cli/serve.js';
import { loadModelFile, saveModelFile } from '../../src/frontend/onnx/node-fs.js';
import { compileForOrt } from '../../src/backends/ort/compile.js';
import { formatBundle, parseBundle } from '../../src/ir/bundle.js';
import { compareTensors } from '../../src/backends/ort/compare.js';
import { Tensor } from '../../src/ir/tensor.js';
import { dtypeFromName } from '../../src/ir/dtype.js';
import { Model } from '../../src/ir/model.js';
import { concatChunks, decodeModelBytes, encodeModelBytes } from '../../src/frontend/onnx/index.js';
import { randomInputs } from '../../src/backends/ort/inputs.js';
import { fusedBlock } from '../helpers/fused-block.js';
import { MODELS_DIR, ZOO_DIR, runOnnx } from '../helpers/ort.js';
import { msgraph } from '../helpers/cli.js';
import { Builder } from '../helpers/builder.js';

const CHROMIUM = process.env.MSGRAPH_CHROMIUM ?? '/usr/bin/chromium';
const HAVE = fs.existsSync(CHROMIUM);
const OUT = path.resolve(import.meta.dirname, '../../test-output/browser');
if (!HAVE) {
  console.warn(`\n*** SKIPPING the browser tests: no chromium at ${CHROMIUM}. Install it with: sudo apt-get install -y chromium ***\n`);
}

interface PageState {
  busy: boolean;
  generation: number;
  errors: string[];
  webgpu: boolean;
  compiled: { model: { graph: { nodeCount: number } } } | null;
  summary: { fusions: { counts: Record<string, number> } } | null;
  run: { ok: boolean; ep: string; bundle: string; original: { median_ms: number }; compiled: { median_ms: number } } | null;
  timings: Record<string, number>;
  progressLog: string[];
}

describe.skipIf(!HAVE)('the msgraph page in chromium', () => {
  let server: Server;
  let browser: Browser;
  let base = '';
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'msgraph-web-'));

  beforeAll(async () => {
    fs.mkdirSync(OUT, { recursive: true });
    server = await startServer({ port: 0 });
    const a = server.address();
    base = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/`;
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--enable-unsafe-webgpu', '--disable-background-networking', '--disable-dev-shm-usage'],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    server?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  async function open(): Promise<{ page: Page; problems: string[] }> {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
    page.on('pageerror', (e) => problems.push(`uncaught: ${(e as Error).message}`));
    await page.setViewport({ width: 1300, height: 900 });
    await page.goto(base);
    await page.waitForFunction(() => document.body.dataset.ready === '1', { timeout: 60_000 });
    return { page, problems };
  }

  const state = (page: Page) => page.evaluate(() => (window as unknown as { msgraphPage: { state: PageState } }).msgraphPage.state && JSON.parse(JSON.stringify({
    ...(window as unknown as { msgraphPage: { state: PageState } }).msgraphPage.state,
    compiled: null, opened: null, mindspore: null,
    nodes: (window as unknown as { msgraphPage: { state: PageState } }).msgraphPage.state.compiled?.model.graph.nodeCount ?? null,
  }))) as Promise<PageState & { nodes: number | null }>;

  /** Does `action`, then waits for the page's next operation to finish. */
  async function settle(page: Page, action: () => Promise<unknown>): Promise<PageState & { nodes: number | null }> {
    const before = (await state(page)).generation;
    await action();
    await page.waitForFunction((g) => {
      const s = (window as unknown as { msgraphPage: { state: PageState } }).msgraphPage.state;
      return s.generation > g && !s.busy;
    }, { timeout: 240_000, polling: 100 }, before);
    return state(page);
  }

  const upload = async (page: Page, selector: string, files: string[]) => (await page.$(selector))!.uploadFile(...files);
  const text = (page: Page, sel: string) => page.$eval(sel, (e) => ((e as HTMLElement).hidden ? '' : e.textContent ?? ''));

  const cases = [
    { name: 'unet_tiny', file: path.join(MODELS_DIR, 'unet_tiny.onnx'), what: 'the diffusers-style UNet' },
    { name: 'bert', file: path.join(MODELS_DIR, 'bert.onnx'), what: 'the BERT-style encoder' },
    { name: 'mobilenet_v3_small', file: path.join(ZOO_DIR, 'mobilenet_v3_small.onnx'), what: 'a torchvision CNN (zoo)' },
  ];
  for (const c of cases) {
    const bundle = c.file.replace(/\.onnx$/, '.io.json');
    it.skipIf(!fs.existsSync(c.file))(`${c.what}: compiles like the CLI, runs on wasm and webgpu like onnxruntime-node`, async () => {
      const { page, problems } = await open();
      const s = await settle(page, () => upload(page, '#file', [c.file]));
      expect(s.errors).toEqual([]);
      // The compiler runs in a worker and reports each pass as it runs.
      expect(s.progressLog).toEqual(expect.arrayContaining(['reading the model', 'compiling for webgpu', 'compiling for webgpu: fuse-attention', 'writing the MindSpore package']));
      // Every op of the compiled UNet has a webgpu kernel (Constant nodes become initializers, not kernels).
      if (c.name === 'unet_tiny') expect(await text(page, '#warning')).toBe('');
      expect(s.webgpu).toBe(true);
      // The fusion counts are the CLI's.
      const cli = JSON.parse(msgraph(['inspect', c.file, '--fusions', '--json']).stdout);
      expect(s.summary!.fusions.counts).toEqual(cli.fusions.counts);
      // The compiled graph is what the CLI's compile gives for that EP.
      expect(s.nodes).toBe(compileForOrt(loadModelFile(c.file), { ep: 'webgpu' }).model.graph.nodeCount);
      expect(await text(page, '#summary')).toContain(path.basename(c.file));
      expect(await text(page, '#model-py')).toContain('class ');
      expect(await page.$$eval('#graph svg g.unit', (g) => g.length)).toBeGreaterThan(2);
      await page.select('#input-kind', 'file');
      await upload(page, '#inputs', [bundle]);
      const feeds = parseBundle(fs.readFileSync(bundle, 'utf8')).inputs;
      const want = await runOnnx(c.file, feeds);
      for (const ep of ['wasm', 'webgpu']) {
        await page.select('#ep', ep);
        const r = await settle(page, () => page.click('#run'));
        expect(r.errors).toEqual([]);
        expect(r.run?.ep).toBe(ep);
        expect(r.run?.ok).toBe(true);
        const got = parseBundle(r.run!.bundle).outputs;
        for (const [name, o] of want) {
          const w = Tensor.fromBytes(dtypeFromName(o.dtype)!, o.dims, o.bytes, name);
          const cmp = compareTensors(name, w, got.get(name)!, { rtol: 1e-3, atol: 1e-4 });
          expect(cmp.ok, `${c.name} on ${ep}, ${name}: max abs ${cmp.maxAbs}`).toBe(true);
        }
        expect(await text(page, '#run-result')).toContain('outputs match');
      }
      // The compile profile: the page's decode, every pass of the pipeline and the encode, as the CLI's --profile.
      const phases = await page.$$eval('#profile-table tbody tr td:first-child', (tds) => tds.map((t) => t.textContent));
      expect(phases[0]).toBe('decode');
      expect(phases.at(-1)).toBe('encode');
      expect(phases.filter((p) => p?.startsWith('pass ')).length).toBeGreaterThanOrEqual(10);
      if (c.name === 'unet_tiny') {
        // Modules open on click and close from the list above the picture.
        const units = () => page.$$eval('#graph svg g.unit', (g) => g.length);
        const closed = await units();
        await page.click('#graph g.unit.module[data-id="m:down_blocks"]');
        expect(await units()).toBeGreaterThan(closed);
        expect(await page.$$eval('#graph .crumbs button', (b) => b.map((x) => x.textContent))).toEqual(['▾ down_blocks']);
        await page.click('#graph .crumbs button');
        expect(await units()).toBe(closed);
        expect(await page.$$eval('#graph g.unit.fused', (g) => g.length)).toBeGreaterThan(0);
        await page.evaluate('window.scrollTo(0, 0)');
        await page.screenshot({ path: path.join(OUT, 'unet_tiny.png'), fullPage: true });
      }
      expect(problems).toEqual([]);
      await page.close();
    }, 300_000);
  }

  it('int8 precision: compiles as the CLI does, runs on wasm within the cosine bound, shows the size and the download; refused on webgpu', async () => {
    const file = path.join(MODELS_DIR, 'bert.onnx');
    const { page, problems } = await open();
    await settle(page, () => upload(page, '#file', [file]));
    await page.select('#precision', 'int8');
    await page.select('#input-kind', 'file');
    await upload(page, '#inputs', [file.replace(/\.onnx$/, '.io.json')]);
    await page.select('#ep', 'wasm');
    const r = await settle(page, () => page.click('#run'));
    expect(r.errors).toEqual([]);
    expect(r.compiledFor).toBe('wasm|int8');
    expect(r.run?.ok).toBe(true);
    // The page's int8 plan is the CLI's.
    expect(r.nodes).toBe(compileForOrt(loadModelFile(file), { ep: 'wasm', precision: 'int8' }).model.graph.nodeCount);
    const cosines = await page.$$eval('#run-result tbody tr td:nth-child(2)', (tds) => tds.map((t) => Number(t.textContent)));
    expect(cosines.length).toBe(2);
    for (const c of cosines) expect(c).toBeGreaterThanOrEqual(0.999);
    expect(await text(page, '#run-result')).toMatch(/Compiled file [\d.]+ MiB, [\d.]+% of the original/);
    expect(await page.$eval('#download-onnx', (b) => (b as HTMLButtonElement).disabled)).toBe(false);
    // webgpu has no DynamicQuantizeMatMul kernel: a clear error in the banner, and the page stays usable.
    await page.select('#ep', 'webgpu');
    const w = await settle(page, () => page.click('#run'));
    expect(w.errors.join('\n')).toMatch(/DynamicQuantizeMatMul, which the webgpu execution provider has no kernel for/);
    expect(problems.filter((p) => !/DynamicQuantizeMatMul/.test(p))).toEqual([]);
    await page.close();
  }, 300_000);

  it('int4: MatMulNBits runs on webgpu and wasm, each output scored by cosine similarity to the original', async () => {
    const file = path.join(MODELS_DIR, 'bert.onnx');
    const { page, problems } = await open();
    await settle(page, () => upload(page, '#file', [file]));
    await page.select('#precision', 'int4');
    await page.select('#input-kind', 'file');
    await upload(page, '#inputs', [file.replace(/\.onnx$/, '.io.json')]);
    for (const ep of ['webgpu', 'wasm']) {
      await page.select('#ep', ep);
      const r = await settle(page, () => page.click('#run'));
      expect(r.errors, ep).toEqual([]);
      expect(r.compiledFor).toBe(`${ep}|int4`);
      expect(r.nodes).toBe(compileForOrt(loadModelFile(file), { ep: ep as 'wasm', precision: 'int4' }).model.graph.nodeCount);
      const cosines = await page.$$eval('#run-result tbody tr td:nth-child(2)', (tds) => tds.map((t) => Number(t.textContent)));
      expect(cosines.length).toBe(2);
      // 4-bit weights are lossy (the README's table); the page shows each output's cosine.
      for (const c of cosines) expect(c, ep).toBeGreaterThanOrEqual(0.99);
    }
    expect(problems).toEqual([]);
    await page.close();
  }, 300_000);

  for (const name of ['unet', 'vae_decoder']) {
    const file = path.join(ZOO_DIR, `${name}.onnx`);
    it.skipIf(!fs.existsSync(file))(`fp16 (zoo ${name}): on webgpu and wasm within 1e-2 of the output's magnitude; the adapter's shader-f16 decides compute or storage`, async () => {
      const bundle = file.replace(/\.onnx$/, '.io.json');
      const feeds = parseBundle(fs.readFileSync(bundle, 'utf8')).inputs;
      const want = await runOnnx(new Uint8Array(fs.readFileSync(file)), feeds);
      const { page, problems } = await open();
      await settle(page, () => upload(page, '#file', [file]));
      await page.select('#precision', 'fp16');
      await page.select('#input-kind', 'file');
      await upload(page, '#inputs', [bundle]);
      for (const ep of ['webgpu', 'wasm']) {
        await page.select('#ep', ep);
        const s = await settle(page, () => page.click('#run'));
        expect(s.errors, ep).toEqual([]);
        expect(s.compiledFor).toBe(`${ep}|fp16`);
        expect(s.run?.ok, ep).toBe(true);
        const shaderF16 = await page.evaluate(() => (window as unknown as { msgraphPage: { state: { shaderF16: boolean } } }).msgraphPage.state.shaderF16);
        // Convolutions computing in float16 in the compiled model the page holds.
        const halves = await page.evaluate(() => {
          const g = (window as unknown as { msgraphPage: { state: { compiled: { model: { graph: Iterable<{ op: string; outputs: { type?: { dtype?: { name: string } } }[] }> } } } } }).msgraphPage.state.compiled.model.graph;
          return [...g].filter((n) => n.op === 'Conv' && n.outputs[0]?.type?.dtype?.name === 'float16').length;
        });
        if (ep === 'webgpu' && shaderF16) expect(halves, 'convolutions computing in float16').toBeGreaterThan(0);
        else expect(halves).toBe(0);
        if (ep === 'webgpu' && !shaderF16) expect(await text(page, '#warning')).toMatch(/no shader-f16: fp16 stores the weights in float16 and computes in float32/);
        const got = parseBundle(s.run!.bundle).outputs;
        for (const [o, w] of want) {
          const cmp = compareTensors(o, Tensor.fromBytes(dtypeFromName(w.dtype)!, w.dims, w.bytes, o), got.get(o)!, { rtol: 1e-2, atol: 0 });
          expect(cmp.ok, `${ep} ${o}: max rel ${cmp.maxRel}`).toBe(true);
        }
      }
      expect(problems).toEqual([]);
      await page.close();
    }, 400_000);
  }

  it('every fused op the webgpu lowering emits runs there like onnxruntime-node computes the original', async () => {
    const file = path.join(tmp, 'fused.onnx');
    const original = fusedBlock(17, true);
    fs.writeFileSync(file, original);
    const compiled = compileForOrt(decodeModelBytes(original), { ep: 'webgpu' }).model;
    const ops = [...compiled.graph].map((n) => n.op);
    expect(ops).toEqual(expect.arrayContaining(['Gelu', 'FastGelu', 'QuickGelu', 'LayerNormalization', 'SimplifiedLayerNormalization', 'HardSwish']));
    const { page, problems } = await open();
    await page.select('#ep', 'webgpu');
    let s = await settle(page, () => upload(page, '#file', [file]));
    expect(s.errors).toEqual([]);
    expect(s.nodes).toBe(compiled.graph.nodeCount);
    const bundle = path.join(tmp, 'fused.io.json');
    const feeds = randomInputs(decodeModelBytes(original), 7);
    fs.writeFileSync(bundle, formatBundle({ inputs: feeds }));
    await page.select('#input-kind', 'file');
    await upload(page, '#inputs', [bundle]);
    const want = await runOnnx(original, feeds);
    for (const ep of ['webgpu', 'wasm']) {
      await page.select('#ep', ep);
      s = await settle(page, () => page.click('#run'));
      expect(s.errors).toEqual([]);
      const got = parseBundle(s.run!.bundle).outputs;
      for (const [name, o] of want) {
        const cmp = compareTensors(name, Tensor.fromBytes(dtypeFromName(o.dtype)!, o.dims, o.bytes, name), got.get(name)!, { rtol: 1e-3, atol: 1e-4 });
        expect(cmp.ok, `${ep}, ${name}: max abs ${cmp.maxAbs}`).toBe(true);
      }
    }
    expect(problems).toEqual([]);
    await page.close();
  }, 300_000);

  it('bad input: not ONNX, missing external data, ops without a kernel on the EP; the page stays usable', async () => {
    const { page, problems } = await open();
    // Not ONNX.
    const junk = path.join(tmp, 'notes.onnx');
    fs.writeFileSync(junk, 'this is not a protobuf, just text pretending to be a model\n'.repeat(20));
    let s = await settle(page, () => upload(page, '#file', [junk]));
    expect(s.errors.length).toBe(1);
    const shown = await text(page, '#error');
    expect(shown).toContain('notes.onnx');
    expect(shown).toBe(s.errors[0]);
    // External data that was not provided, then provided.
    const ext = path.join(tmp, 'bert_ext.onnx');
    saveModelFile(loadModelFile(path.join(MODELS_DIR, 'bert.onnx')), ext, { externalData: true, externalThreshold: 1024 });
    s = await settle(page, () => upload(page, '#file', [ext]));
    expect(await text(page, '#error')).toMatch(/bert_ext\.onnx\.data.*was not provided/);
    s = await settle(page, () => upload(page, '#file', [ext, `${ext}.data`]));
    expect(await text(page, '#error')).toBe('');
    expect(s.nodes).toBeGreaterThan(0);
    await page.select('#ep', 'wasm');
    await page.select('#input-kind', 'file');
    await upload(page, '#inputs', [path.join(MODELS_DIR, 'bert.io.json')]);
    s = await settle(page, () => page.click('#run'));
    expect(s.errors.length).toBe(2);
    expect(s.run?.ok).toBe(true);
    // An op the webgpu EP has no kernel for (TopK): a specific warning, and the run still works on the fallback.
    const b = new Builder();
    const x = b.input('x', [2, 16]);
    const k = b.graph.addConstant('k', Tensor.fromArray(dtypeFromName('int64')!, [1], BigInt64Array.from([3n]), 'k'));
    const top = b.op('TopK', [x, k], { outputs: 2 });
    b.output(b.op('Relu', [top.outputs[0]!]).outputs[0]!);
    const topk = path.join(tmp, 'topk.onnx');
    fs.writeFileSync(topk, concatChunks(encodeModelBytes(new Model(b.graph, 8, new Map([['', 17]]))).chunks));
    await page.select('#ep', 'webgpu');
    await page.select('#input-kind', 'random');
    s = await settle(page, () => upload(page, '#file', [topk]));
    expect(await text(page, '#warning')).toMatch(/no webgpu kernel \(TopK\)/);
    s = await settle(page, () => page.click('#run'));
    expect(s.errors.length).toBe(2);
    expect(s.run?.ok).toBe(true);
    expect(problems).toEqual([]);
    await page.close();
  }, 300_000);
});
