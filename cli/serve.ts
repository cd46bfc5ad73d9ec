/**
 * `msgraph serve [--port N] [model.onnx]`: serves the built page (dist/web, with onnxruntime-web's files) on
 * 127.0.0.1, optionally preloading a model and its external data files. Cross-origin isolation headers let
 * onnxruntime-web use threads.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MsgraphError } from '../src/errors.js';
import { loadModelFile } from '../src/frontend/onnx/node-fs.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm',
  '.json': 'application/json', '.map': 'application/json', '.onnx': 'application/octet-stream',
};

/** dist/web beside the built CLI (dist/cli), or under dist/ when run from the sources. */
export function webRoot(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.resolve(here, '../web'), path.resolve(here, '../dist/web')];
  return candidates.find((d) => fs.existsSync(path.join(d, 'app.js'))) ?? candidates[0]!;
}

/** The model and the external data files its tensors name (paths inside its directory). */
function preloadFiles(model: string): Map<string, string> {
  const m = loadModelFile(model);
  const files = new Map([[path.basename(model), path.resolve(model)]]);
  for (const v of m.graph.initializers) {
    const loc = v.const?.source?.location;
    if (loc) files.set(path.basename(loc), path.resolve(path.dirname(model), loc));
  }
  return files;
}

/** True when a Host header names this server on loopback: 127.0.0.1, localhost or [::1], with its port. */
export function loopbackHost(host: string | undefined, server: http.Server): boolean {
  if (!host) return false;
  const m = /^(127\.0\.0\.1|localhost|\[::1\])(?::(\d+))?$/i.exec(host);
  if (!m) return false;
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : null;
  return m[2] === undefined ? port === 80 : Number(m[2]) === port;
}

export function startServer(opts: { port: number; model?: string; quiet?: boolean }): Promise<http.Server> {
  const root = webRoot();
  if (!fs.existsSync(path.join(root, 'index.html'))) throw new MsgraphError('usage', `the page is not built (${root} has no index.html)`, { hint: 'run npm run build' });
  const preload = opts.model ? preloadFiles(opts.model) : new Map<string, string>();
  const server = http.createServer((req, res) => {
    const headers = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp', 'Cache-Control': 'no-store' };
    const send = (code: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(code, { ...headers, 'Content-Type': type });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed');
    // DNS rebinding: a page from another site whose name resolves to 127.0.0.1 sends its own Host. Only the
    // loopback names this server listens on are answered.
    if (!loopbackHost(req.headers.host, server)) return send(421, 'misdirected request: this server answers only for 127.0.0.1 and localhost');
    let url: string;
    try {
      url = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    } catch {
      return send(400, 'bad request');
    }
    if (url === '/preload.json') return send(200, JSON.stringify({ files: [...preload.keys()] }), TYPES['.json']);
    let file: string | undefined;
    if (url.startsWith('/preload/')) file = preload.get(url.slice('/preload/'.length));
    else {
      const rel = url === '/' ? 'index.html' : url.slice(1);
      const full = path.resolve(root, rel);
      if (full.startsWith(root + path.sep)) file = full;
    }
    if (!file || !fs.existsSync(file) || !fs.statSync(file).isFile()) return send(404, 'not found');
    res.writeHead(200, { ...headers, 'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'Content-Length': fs.statSync(file).size });
    if (req.method === 'HEAD') return res.end();
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new MsgraphError('usage', `cannot listen on 127.0.0.1:${opts.port}: ${e.code ?? e.message}`)));
    server.listen(opts.port, '127.0.0.1', () => resolve(server));
  });
}

export async function serveCommand(model: string | undefined, opts: { port: string }): Promise<void> {
  const port = Number(opts.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new MsgraphError('usage', `--port must be 0-65535, got ${JSON.stringify(opts.port)}`);
  const server = await startServer({ port, model });
  const addr = server.address();
  const actual = typeof addr === 'object' && addr ? addr.port : port;
  process.stdout.write(`msgraph: serving the page on http://127.0.0.1:${actual}/${model ? ` with ${path.basename(model)} preloaded` : ''} (Ctrl-C stops)\n`);
}
