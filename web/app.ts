/**
 * The msgraph page: open a model (and its external data), show its summary, compile it for onnxruntime-web, show
 * the passes, the graph and the MindSpore package, and run compiled vs original. Everything runs in the page.
 * `window.msgraphPage` exposes the latest results (used by the browser tests and the compile-time benchmark).
 */
import * as ort from 'onnxruntime-web';
import {
  VERSION, compareOnOrt, parseBundle, formatBundle, parseShapeSpec, decodeModelBytes, isMsgraphError,
  type Compiled, type MindSporeResult as BrowserMindSpore, type Summary, type RunComparison, type OrtWeb, type Tensor,
} from '../src/browser.js';
import { GraphView, isFused } from './graph.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

/** The model as the page holds it: the files (the worker holds the decoded model). */
interface Opened {
  name: string;
  files: File[];
  stats: { nodeCount: number };
  externalFiles: [string, File][];
}

/** What the worker sends back of a MindSpore package: the file names, not their bytes (those are in the zip). */
type MindSporeResult = Omit<BrowserMindSpore, 'files'> & { files: string[] };

/** The compiler runs in a worker; `call` sends one request and resolves with its result. */
const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
let nextId = 1;
const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
worker.addEventListener('message', (e: MessageEvent<{ id: number; result?: unknown; error?: string; progress?: { what: string; done?: number; total?: number } }>) => {
  const m = e.data;
  if (m.progress) return progress(m.progress.what, m.progress.done, m.progress.total);
  const p = pending.get(m.id);
  pending.delete(m.id);
  if (m.error !== undefined) p?.reject(new Error(m.error));
  else p?.resolve(m.result);
});
worker.addEventListener('error', (e) => showError(`the compiler worker failed: ${e.message}`));
function call<T>(type: string, args: Record<string, unknown> = {}): Promise<T> {
  const id = nextId++;
  return new Promise<T>((resolve, reject) => {
    pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    worker.postMessage({ id, type, args });
  });
}

interface PageState {
  busy: boolean;
  /** Counts started operations (open, compile, run): tests wait for it to move and for busy to clear. */
  generation: number;
  opened: Opened | null;
  summary: Summary | null;
  compiled: Compiled | null;
  compiledFor: string;
  mindspore: MindSporeResult | null;
  run: (Omit<RunComparison, 'results'> & { bundle: string }) | null;
  errors: string[];
  /** Every progress text shown (steps, passes as they run, bytes read). */
  progressLog: string[];
  timings: Record<string, number>;
  webgpu: boolean;
  /** The WebGPU adapter runs float16 shaders (what fp16 compute needs). */
  shaderF16: boolean;
}

const state: PageState = { busy: false, generation: 0, opened: null, summary: null, compiled: null, compiledFor: '', mindspore: null, run: null, errors: [], progressLog: [], timings: {}, webgpu: false, shaderF16: false };
(window as unknown as { msgraphPage: unknown }).msgraphPage = { state, openFiles, compileNow, runNow };

const tick = () => new Promise<void>((r) => setTimeout(r, 0));

function progress(text: string | null, done?: number, total?: number): void {
  $('progress').hidden = text === null;
  $('status').textContent = text ?? '';
  if (text !== null && state.progressLog[state.progressLog.length - 1] !== text) state.progressLog.push(text);
  const bar = $<HTMLProgressElement>('bar');
  if (done !== undefined && total) {
    bar.max = total;
    bar.value = done;
  } else bar.removeAttribute('value');
}

function showError(e: unknown): void {
  const text = isMsgraphError(e) ? e.oneLine() : e instanceof Error ? e.message : String(e);
  state.errors.push(text);
  const box = $('error');
  box.textContent = text;
  box.hidden = false;
}

function clearError(): void {
  $('warning').hidden = true;
  $('error').hidden = true;
  $('error').textContent = '';
}

/** Runs one step of work, with its progress text; errors go to the banner and the page stays usable. */
async function step<T>(what: string, fn: () => T | Promise<T>): Promise<T> {
  progress(what);
  await tick();
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    state.timings[what] = performance.now() - t0;
  }
}

function shapes(): Record<string, number[]> {
  const text = $<HTMLInputElement>('shapes').value.trim();
  return Object.fromEntries(text ? text.split(/[\s,;]+/).filter(Boolean).map(parseShapeSpec) : []);
}

async function openFiles(files: File[]): Promise<void> {
  if (state.busy) return;
  state.busy = true;
  state.generation++;
  clearError();
  state.compiled = null;
  state.mindspore = null;
  state.run = null;
  for (const id of ['summary-panel', 'passes-panel', 'graph-panel', 'ms-panel', 'run-panel']) $(id).hidden = true;
  try {
    const o = await step('reading the model', () => call<{ name: string; summary: Summary; stats: { nodeCount: number }; externalFiles: [string, File][] }>('open', { files }));
    state.opened = { name: o.name, files, stats: o.stats, externalFiles: o.externalFiles };
    state.summary = o.summary;
    $('summary').textContent = state.summary.text;
    $('summary-panel').hidden = false;
    await compileSteps();
    await step('writing the MindSpore package', async () => {
      try {
        state.mindspore = await call<MindSporeResult>('mindspore');
        $('model-py').textContent = state.mindspore.modelPy;
        const n = state.mindspore.files.length;
        $('ms-info').textContent = `${n} files${state.mindspore.partial ? '; some ops have no MindSpore mapping (see report.md)' : ''}`;
      } catch (e) {
        $('model-py').textContent = '';
        $('ms-info').textContent = `no MindSpore package: ${e instanceof Error ? e.message : String(e)}`;
      }
      $('ms-panel').hidden = false;
    });
    $('run-panel').hidden = false;
    $<HTMLButtonElement>('recompile').disabled = false;
  } catch (e) {
    showError(e);
  } finally {
    state.busy = false;
    progress(null);
  }
}

/** What the compiled model is for: the EP and the precision. */
const target = () => `${$<HTMLSelectElement>('ep').value}|${$<HTMLSelectElement>('precision').value}`;

async function compileSteps(): Promise<void> {
  const ep = $<HTMLSelectElement>('ep').value;
  const precision = $<HTMLSelectElement>('precision').value;
  // fp16 computes in float16 on webgpu, which needs shader-f16; without it the weights are stored in float16 only.
  const fp16 = precision === 'fp16' && ep === 'webgpu' && !state.shaderF16 ? 'storage' : undefined;
  const c = await step(`compiling for ${ep}${precision === 'fp32' ? '' : ` in ${precision}`}`, () => call<Omit<Compiled, 'model'>>('compile', { ep, shapes: shapes(), passes: $<HTMLInputElement>('passes').value || 'default', precision, fp16 }));
  // The picture is drawn from the compiled file itself.
  state.compiled = { ...c, model: decodeModelBytes(c.bytes, { file: state.opened!.name }) };
  state.compiledFor = target();
  $<HTMLButtonElement>('download-onnx').disabled = false;
  const missing = [...new Set(state.compiled.plan.unsupported_on_ep.map((u) => (u.domain && u.domain !== 'ai.onnx' ? `${u.domain}::${u.op}` : u.op)))];
  const warn = $('warning');
  const notes = [
    missing.length ? `${state.compiled.plan.unsupported_on_ep.length} op(s) have no ${ep} kernel (${missing.join(', ')}); onnxruntime-web runs them on its CPU fallback, copying tensors between devices.` : '',
    fp16 ? 'This WebGPU adapter has no shader-f16: fp16 stores the weights in float16 and computes in float32.' : '',
  ].filter(Boolean);
  warn.hidden = !notes.length;
  warn.textContent = notes.join(' ');
  renderPasses(state.compiled);
  $('passes-panel').hidden = false;
  await step('drawing the graph', () => {
    const view = new GraphView(state.compiled!.model, $('graph'), (t) => ($('graph-info').textContent = t));
    const r = view.render();
    $('graph-info').textContent = `${state.compiled!.model.graph.nodeCount} ops in ${r.units} boxes; click a module to open it`;
    $('collapse').onclick = () => view.collapseAll();
    let depth = 0;
    $('expand1').onclick = () => view.expandTo(++depth);
  });
  $('graph-panel').hidden = false;
}

async function compileNow(): Promise<void> {
  if (!state.opened || state.busy) return;
  state.busy = true;
  state.generation++;
  clearError();
  try {
    await compileSteps();
  } catch (e) {
    showError(e);
  } finally {
    state.busy = false;
    progress(null);
  }
}

function renderPasses(c: Compiled): void {
  const counts: Record<string, number> = {};
  for (const p of c.passes) if (p.name.startsWith('fuse-') || p.name.startsWith('fold-batch') || p.name === 'fold-pad') for (const [k, v] of Object.entries(p.stats)) if (v) counts[k] = (counts[k] ?? 0) + v;
  const f = $('fusions');
  f.replaceChildren();
  const head = document.createElement('p');
  const fusedOps = [...c.model.graph].filter((n) => isFused(n.op)).length;
  head.textContent = `${state.opened!.stats.nodeCount} ops -> ${c.model.graph.nodeCount} after the passes (${fusedOps} fused ops); compiled in ${c.ms.toFixed(0)} ms. Fusions:`;
  f.appendChild(head);
  for (const [k, v] of Object.entries(state.summary?.fusions.counts ?? counts)) {
    if (!v) continue;
    const s = document.createElement('span');
    s.className = 'count';
    s.dataset.kind = k;
    s.textContent = `${k} ${v}`;
    f.appendChild(s);
  }
  const body = $('pass-table').querySelector('tbody')!;
  body.replaceChildren(...c.passes.map((p) => {
    const tr = document.createElement('tr');
    const changes = Object.entries(p.stats).filter(([, v]) => v).map(([k, v]) => `${k} ${v}`).join(', ') || '—';
    for (const text of [p.name, p.ms.toFixed(1), `${p.nodesBefore} -> ${p.nodesAfter}`, changes]) {
      const td = document.createElement('td');
      td.textContent = text;
      tr.appendChild(td);
    }
    return tr;
  }));
  // The compile profile, as `msgraph compile --profile` prints it.
  const total = c.profile.reduce((s, p) => s + p.ms, 0) || 1;
  $('profile-table').querySelector('tbody')!.replaceChildren(...c.profile.map((p) => {
    const tr = document.createElement('tr');
    for (const text of [p.phase, p.ms.toFixed(1), `${((100 * p.ms) / total).toFixed(1)}%`]) {
      const td = document.createElement('td');
      td.textContent = text;
      tr.appendChild(td);
    }
    return tr;
  }));
  const misses = [...(state.summary?.fusions.nearMisses ?? []), ...c.passes.flatMap((p) => p.nearMisses ?? [])];
  const unique = [...new Map(misses.map((m) => [`${m.node}|${m.reason}`, m])).values()];
  $('near-misses').textContent = unique.length ? `Not fused:\n${unique.map((m) => `  ${m.node}: ${m.reason}`).join('\n')}` : 'No near-misses: everything that looked like a fusion fused.';
}

async function runNow(): Promise<void> {
  if (!state.opened || state.busy) return;
  state.busy = true;
  state.generation++;
  clearError();
  state.run = null;
  $('run-result').textContent = '';
  try {
    const ep = $<HTMLSelectElement>('ep').value;
    if (ep === 'webgpu' && !state.webgpu) throw new Error('this browser has no WebGPU adapter; choose wasm');
    if (state.compiledFor !== target()) await compileSteps();
    let feeds: Map<string, Tensor>;
    if ($<HTMLSelectElement>('input-kind').value === 'file') {
      const f = $<HTMLInputElement>('inputs').files?.[0];
      if (!f) throw new Error('choose a tensor bundle (.io.json) for the inputs');
      feeds = parseBundle(await f.text(), f.name).inputs;
    } else {
      feeds = parseBundle(await call<string>('inputs', { shapes: shapes() }), 'random inputs').inputs;
    }
    const runs = Math.max(1, Math.min(100, Number($<HTMLInputElement>('runs').value) || 5));
    // The original's external data goes to onnxruntime-web as blob URLs (read there, not copied here).
    const urls = state.opened.externalFiles.map(([p, f]) => ({ path: p, data: URL.createObjectURL(f) }));
    const onnxFile = state.opened.files.find((f) => f.name === state.opened!.name)!;
    const original = new Uint8Array(await onnxFile.arrayBuffer());
    let r: RunComparison;
    try {
      // A reduced-precision plan is judged as the CLI judges it: cosine similarity per output.
      const minCosine = $<HTMLSelectElement>('precision').value === 'fp32' ? undefined : 0.999;
      r = await step(`running original and compiled on ${ep}`, () => compareOnOrt(ort as unknown as OrtWeb, original, state.compiled!.bytes, feeds, { ep, runs, externalData: urls, minCosine }));
    } finally {
      for (const u of urls) URL.revokeObjectURL(u.data);
    }
    state.run = { ep: r.ep, original: r.original, compiled: r.compiled, outputs: r.outputs, ok: r.ok, bundle: formatBundle({ inputs: feeds, outputs: r.results }) };
    renderRun(r);
  } catch (e) {
    showError(e);
  } finally {
    state.busy = false;
    progress(null);
  }
}

function renderRun(r: RunComparison): void {
  const box = $('run-result');
  const p = document.createElement('p');
  p.innerHTML = '';
  const verdict = document.createElement('span');
  verdict.className = r.ok ? 'ok' : 'bad';
  verdict.textContent = r.ok ? 'outputs match' : 'outputs differ';
  const size = state.opened ? ` Compiled file ${(state.compiled!.bytes.length / 2 ** 20).toFixed(2)} MiB, ${((100 * state.compiled!.bytes.length) / state.opened.files.reduce((s, f) => s + f.size, 0)).toFixed(1)}% of the original.` : '';
  p.append(`${r.ep}: original ${r.original.median_ms.toFixed(2)} ms, compiled ${r.compiled.median_ms.toFixed(2)} ms (median of ${r.compiled.runs}; ${(r.original.median_ms / r.compiled.median_ms).toFixed(2)}x) — `, verdict, size);
  const table = document.createElement('table');
  table.innerHTML = '<thead><tr><th>output</th><th>cosine</th><th>max abs error</th><th>max rel error</th><th>mismatched</th></tr></thead>';
  const body = document.createElement('tbody');
  for (const o of r.outputs) {
    const tr = document.createElement('tr');
    for (const t of [o.name, o.cosine.toFixed(6), o.maxAbs.toExponential(2), o.maxRel.toExponential(2), `${o.mismatches}/${o.elements}`]) {
      const td = document.createElement('td');
      td.textContent = t;
      tr.appendChild(td);
    }
    body.appendChild(tr);
  }
  table.appendChild(body);
  box.replaceChildren(p, table);
}

function download(): void {
  if (!state.mindspore) return;
  const blob = new Blob(state.mindspore.zip as BlobPart[], { type: 'application/zip' });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = `${state.opened!.name.replace(/\.onnx$/i, '')}_mindspore.zip`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

async function init(): Promise<void> {
  $('version').textContent = `${VERSION}`;
  window.addEventListener('error', (e) => showError(e.error ?? e.message));
  window.addEventListener('unhandledrejection', (e) => showError(e.reason));
  ort.env.logLevel = 'error';
  ort.env.wasm.numThreads = self.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
  const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<{ features: { has(f: string): boolean } } | null> } }).gpu;
  const adapter = gpu ? await gpu.requestAdapter().catch(() => null) : null;
  state.webgpu = !!adapter;
  state.shaderF16 = !!adapter?.features.has('shader-f16');
  const epSel = $<HTMLSelectElement>('ep');
  if (state.webgpu) epSel.value = 'webgpu';
  else (epSel.querySelector('option[value=webgpu]') as HTMLOptionElement).textContent = 'webgpu (no adapter here)';
  $<HTMLInputElement>('file').addEventListener('change', (e) => {
    const files = [...((e.target as HTMLInputElement).files ?? [])];
    if (files.length) void openFiles(files);
  });
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const files = [...(e.dataTransfer?.files ?? [])];
    if (files.length) void openFiles(files);
  });
  $('recompile').addEventListener('click', () => void compileNow());
  $('download-onnx').addEventListener('click', () => {
    if (!state.compiled) return;
    const a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob([state.compiled.bytes as BlobPart], { type: 'application/octet-stream' }));
    a.download = `${state.opened?.name.replace(/\.onnx$/i, '') ?? 'model'}.${$<HTMLSelectElement>('precision').value}.onnx`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  });
  $('run').addEventListener('click', () => void runNow());
  $('download').addEventListener('click', download);
  $<HTMLSelectElement>('input-kind').addEventListener('change', (e) => ($('inputs').hidden = (e.target as HTMLSelectElement).value !== 'file'));
  // `msgraph serve model.onnx` preloads a model.
  const pre = await fetch('./preload.json').then((r) => (r.ok ? r.json() : null)).catch(() => null) as { files: string[] } | null;
  if (pre?.files?.length) {
    const files = await Promise.all(pre.files.map(async (name) => new File([await (await fetch(`./preload/${encodeURIComponent(name)}`)).blob()], name)));
    await openFiles(files);
  }
  document.body.dataset.ready = '1';
}

void init();
