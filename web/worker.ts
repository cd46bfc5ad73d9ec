/**
 * The page's compiler thread: opening, inspecting, compiling and packaging run here, so the page stays responsive
 * and shows each pass as it runs. Requests are `{id, type, args}`; replies are `{id, result}` or `{id, error}`,
 * with `{id, progress}` messages in between.
 */
import {
  openModel, summarize, compileModel, mindsporePackage, randomInputs, formatBundle, isMsgraphError, type OpenedModel, type BrowserFile,
} from '../src/browser.js';

interface Request {
  id: number;
  type: 'open' | 'compile' | 'mindspore' | 'inputs';
  args: Record<string, unknown>;
}

const post = (msg: unknown, transfer: Transferable[] = []) => (self as unknown as { postMessage(m: unknown, t: Transferable[]): void }).postMessage(msg, transfer);
let opened: OpenedModel | null = null;

function need(): OpenedModel {
  if (!opened) throw new Error('no model is open');
  return opened;
}

async function handle(req: Request): Promise<[unknown, Transferable[]]> {
  const progress = (what: string, done?: number, total?: number) => post({ id: req.id, progress: { what, done, total } });
  switch (req.type) {
    case 'open': {
      opened = null;
      const m = await openModel(req.args.files as BrowserFile[], progress);
      progress('inspecting');
      const summary = summarize(m);
      opened = m;
      return [{ name: m.name, summary, stats: m.stats, externalFiles: [...m.externalFiles] }, []];
    }
    case 'compile': {
      const opts = req.args as { ep: 'wasm'; shapes: Record<string, number[]>; passes: string; precision: 'fp32' | 'int8' | 'int4' | 'fp16'; fp16?: 'storage' | 'compute' };
      const c = compileModel(need(), { ...opts, onPass: (name, i, total) => progress(`compiling for ${opts.ep}: ${name}`, i, total) });
      // The compiled bytes move to the page when they own their buffer; anything else is copied.
      const own = c.bytes.byteOffset === 0 && c.bytes.byteLength === c.bytes.buffer.byteLength;
      return [{ bytes: c.bytes, plan: c.plan, passes: c.passes, ms: c.ms, profile: c.profile }, own ? [c.bytes.buffer as ArrayBuffer] : []];
    }
    case 'mindspore': {
      const p = mindsporePackage(need(), { source: need().name });
      // Copied, not transferred: weight chunks can be views into the model's own buffer, which must stay here.
      return [{ modelPy: p.modelPy, files: p.files.map(([n]) => n), zip: p.zip, partial: p.partial }, []];
    }
    case 'inputs': {
      // Symbolic dims take their values from the shapes given (input name -> full shape).
      const model = need().load();
      const given = req.args.shapes as Record<string, number[]>;
      const dims: Record<string, number> = {};
      for (const v of model.graph.inputs) {
        const spec = given[v.name];
        const shape = v.type?.kind === 'tensor' ? v.type.shape : null;
        shape?.forEach((d, i) => typeof d === 'string' && spec?.[i] !== undefined && (dims[d] = spec[i]!));
      }
      return [formatBundle({ inputs: randomInputs(model, 1, { dims }) }), []];
    }
  }
}

const message = (err: unknown) => (isMsgraphError(err) ? err.oneLine() : err instanceof Error ? err.message : String(err));

self.addEventListener('message', async (e: MessageEvent<Request>) => {
  const id = e.data.id;
  try {
    const [result, transfer] = await handle(e.data);
    post({ id, result }, transfer);
  } catch (err) {
    // Errors of the work and of posting its result alike reach the page (which otherwise would wait forever).
    post({ id, error: message(err) });
  }
});
