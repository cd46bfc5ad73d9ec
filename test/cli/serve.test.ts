/** `msgraph serve`: the built page on 127.0.0.1, the preloaded model and its external data, nothing outside. */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { CLI, msgraph } from '../helpers/cli.js';
import { loadModelFile, saveModelFile } from '../../src/frontend/onnx/node-fs.js';
import { MODELS_DIR } from '../helpers/ort.js';

function statusWithHost(url: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { headers: { Host: host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('msgraph serve', () => {
  it('serves the page with COOP/COEP headers and the preloaded model with its external data; refuses paths outside', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'msgraph-serve-'));
    const model = path.join(dir, 'bert_ext.onnx');
    saveModelFile(loadModelFile(path.join(MODELS_DIR, 'bert.onnx')), model, { externalData: true, externalThreshold: 1024 });
    const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', model], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d) => {
          out += String(d);
          const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(out);
          if (m) resolve(m[0]);
        });
        child.on('exit', (code) => reject(new Error(`serve exited with ${code}`)));
      });
      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(page.headers.get('cross-origin-opener-policy')).toBe('same-origin');
      expect(page.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
      expect(await page.text()).toContain('<script type="module" src="./app.js">');
      for (const f of ['app.js', 'worker.js', 'ort/ort.all.min.mjs', 'ort/ort-wasm-simd-threaded.jsep.wasm']) expect((await fetch(url + f)).status, f).toBe(200);
      const pre = await (await fetch(`${url}preload.json`)).json();
      expect(pre.files.sort()).toEqual(['bert_ext.onnx', 'bert_ext.onnx.data']);
      const data = new Uint8Array(await (await fetch(`${url}preload/bert_ext.onnx.data`)).arrayBuffer());
      expect(data.length).toBe(fs.statSync(`${model}.data`).size);
      expect((await fetch(`${url}preload/other.onnx`)).status).toBe(404);
      expect((await fetch(`${url}..%2F..%2Fpackage.json`)).status).toBe(404);
      expect((await fetch(url, { method: 'POST' })).status).toBe(405);
      // DNS rebinding: another site's name resolving to 127.0.0.1 brings its own Host header; only loopback names pass.
      const port = new URL(url).port;
      for (const [host, status] of [['evil.example', 421], [`evil.example:${port}`, 421], [`127.0.0.1:${port}`, 200], [`localhost:${port}`, 200], ['127.0.0.1:1', 421]] as const) {
        expect(await statusWithHost(url, host), host).toBe(status);
      }
      expect(await statusWithHost(`${url}preload/bert_ext.onnx.data`, 'attacker.test')).toBe(421);
    } finally {
      child.kill();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('bad arguments are one-line errors', () => {
    const r = msgraph(['serve', '--port', '70000']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^msgraph: error: --port must be 0-65535/);
    const m = msgraph(['serve', '--port', '0', path.join(MODELS_DIR, 'missing.onnx')]);
    expect(m.code).toBe(2);
    expect(m.stderr.split('\n').filter(Boolean)).toHaveLength(1);
  });
});
