/** The Python module text: classes (deduplicated), their __init__ layers and parameters, the header, and the weight list. */
import { CELL_MEMBERS } from './cell-members.js';
import { HELPERS } from './helpers.js';
import { attentionHelper } from './attention.js';
import { type Layer, type LayerParam, transpose2d } from './layers.js';
import { CodeWriter, Namer, className, identifier, pyComment, pyString } from './python.js';
import { type Mod, NUMERIC, PATH_NAME, computedTensor, dtypeName, fmtShape, shapeOf } from './cells.js';
import type { EmitResult, Emitter, ParamRecord } from './emit.js';
import { type Cand, type MergedBody, candidate, merge } from './merge.js';
import { nameArguments } from './arguments.js';

export function emit(e: Emitter): EmitResult {
  assignAttrs(e, e.root);
  const classOrder: string[] = [];
  const usedClassNames = new Set<string>();
  const stem = e.opts.source?.replace(/^.*[\\/]/, '').replace(/\.onnx$/i, '');
  const topName = className(e.opts.className ?? stem ?? e.model.graph.name ?? 'Model', 'Model');
  const top = e.globals.has(topName) ? `${topName}Model` : topName;
  e.globals.reserve(top);
  usedClassNames.add(top);
  // Classes by structure, level by level from the leaves: every instance of a structure is known before its
  // parents' text (which instantiates it with its arguments) is written.
  const levels: Mod[][] = [];
  const visit = (m: Mod): number => {
    let h = -1;
    for (const c of m.children.values()) if (!c.layer) h = Math.max(h, visit(c));
    if (m.cellList || m.layer || m === e.root || m.vanishes) return h;
    (levels[h + 1] ??= []).push(m);
    return h + 1;
  };
  visit(e.root);
  const nameClass = (mods: Mod[]) => {
    // Instances named `attn1` and `attn2` that share a class share the name without the number.
    const names = new Set(mods.map((m) => classNameFor(e, m)));
    const stems = new Set([...names].map((n) => n.replace(/_?\d+$/, '')));
    let name = names.size > 1 && stems.size === 1 && [...stems][0] ? [...stems][0]! : classNameFor(e, mods[0]!);
    let k = 2;
    const base = name;
    while (usedClassNames.has(name) || e.globals.has(name)) name = /\d$/.test(base) ? `${base}_${k++}` : `${base}${k++}`;
    usedClassNames.add(name);
    e.globals.reserve(name);
    return name;
  };
  for (const level of levels) {
    const groups = new Map<string, { mods: Mod[]; bodies: Template[] }>();
    for (const m of level ?? []) {
      const t = templatize(classBody(e, m));
      const g = groups.get(t.text) ?? { mods: [], bodies: [] };
      g.mods.push(m);
      g.bodies.push(t);
      groups.set(t.text, g);
    }
    for (const { mods, bodies, flags } of withOptionalParts([...groups.values()])) {
      const name = nameClass(mods);
      const { body: text, args } = parametrise(e, bodies, flags);
      const body = nameArguments(text, mods);
      mods.forEach((m, i) => {
        m.cls = name;
        m.clsArgs = args[i]!;
      });
      classOrder.push(name);
      e.classTexts.set(name, { body, mods });
    }
  }
  e.root.cls = top;
  classOrder.push(top);
  e.classTexts.set(top, { body: classBody(e, e.root), mods: [e.root] });
  const w = new CodeWriter();
  header(e, w, top);
  for (const h of [...e.helpersUsed].sort()) {
    w.line();
    w.line();
    for (const l of (h === 'scaled_dot_product_attention' ? attentionHelper(e.opts.attention ?? 'math') : HELPERS[h]!.code).split('\n')) w.line(l);
  }
  for (const name of classOrder) {
    const entry = e.classTexts.get(name)!;
    w.line();
    w.line();
    w.line(`class ${name}(nn.Cell):`);
    w.indent(() => {
      const where = entry.mods.map((m) => m.path.join('.') || '(model)');
      const doc = entry.mods[0] === e.root ? topDoc(e, ) : `${pyComment(where.slice(0, 4).join(', '), 100)}${where.length > 4 ? ` and ${where.length - 4} more` : ''}`;
      w.line(`"""${doc}"""`);
      for (const l of entry.body.split('\n')) w.line(l);
    });
  }
  const params = collectParams(e, );
  for (const [op, m] of e.mapping) if (m.size === 0) e.mapping.delete(op);
  return {
    code: w.toString(),
    params,
    fallbacks: e.fallbacks,
    mapping: e.mapping,
    warnings: [...e.warnings],
    attention: e.attention,
    activations: e.activations,
    groupNorms: e.groupNorms,
    layerNorms: e.layerNorms,
    geglus: e.geglus,
    nearMisses: e.nearMisses,
    fusionCounts: e.fusionCounts,
    sizes: e.sizes,
    classes: classOrder,
    msVersion: e.msVersion,
    topClass: top,
    inputs: e.model.graph.inputs.filter((v) => !v.const).map((v) => ({ name: v.name, pyName: e.inputNames.get(v)!, dtype: dtypeName(v), shape: shapeOf(v) })),
    outputs: e.model.graph.outputs.map((v) => ({ name: v.name, dtype: dtypeName(v), shape: shapeOf(v) })),
  };
}

export function* allMods(e: Emitter, m: Mod): Generator<Mod> {
  yield m;
  for (const c of m.children.values()) yield* allMods(e, c);
}

/** A class body with the numbers of its __init__ lines taken out: `text` holds slot marks, `values` the numbers. */
interface Template {
  text: string;
  values: string[];
  /** Per slot: its line, where the number starts in it, and whether it is in __init__ (else construct). */
  at: { line: string; index: number; init: boolean }[];
}

const NUMBER = /(?<![\w.])-?\d+(?:\.\d+)?(?:e-?\d+)?(?![\w.])/g;

function templatize(body: string): Template {
  const t: Template = { text: '', values: [], at: [] };
  const lines = body.split('\n');
  const end = lines.findIndex((l) => l === '');
  t.text = lines.map((line, i) => {
    // The layers, submodules and parameters __init__ creates, and construct()'s numbers.
    const init = end < 0 || i < end;
    if (i === 0 || (init && !/^ {4}self\.\w+ = /.test(line)) || /^\s*def /.test(line)) return line;
    return line.replace(NUMBER, (num, index: number) => {
      t.values.push(num);
      t.at.push({ line, index, init });
      return `\u0000${t.values.length - 1}\u0000`;
    });
  }).join('\n');
  return t;
}

/**
 * Groups of one level whose bodies are one class with optional parts (merge.ts) become one group; the others stay.
 * A group is tried against the merged ones before it, in order.
 */
function withOptionalParts(groups: { mods: Mod[]; bodies: Template[] }[]): { mods: Mod[]; bodies: Template[]; flags: MergedBody['flags'] }[] {
  const out: { mods: Mod[]; bodies: Template[]; flags: MergedBody['flags']; cand: Cand | null; merged: boolean }[] = [];
  for (const g of groups) {
    const cand = candidate(g.mods, g.bodies[0]!.text, g.bodies.map((b) => b.values));
    let done = false;
    for (const o of out) {
      const m = cand && o.cand ? merge(o.cand, cand) ?? merge(cand, o.cand) : null;
      if (!m) continue;
      Object.assign(o, { cand: m, mods: m.mods, merged: true });
      done = true;
      break;
    }
    if (!done) out.push({ ...g, flags: [], cand, merged: false });
  }
  for (const o of out) if (o.merged) {
    const r = o.cand!.rendered!;
    o.bodies = r.values.map((values) => ({ text: r.text, values, at: r.at }));
    o.flags = r.flags;
    const count = Math.max(...o.cand!.outs.map((x) => x.length));
    o.mods.forEach((m, i) => {
      const at = o.cand!.outs[i]!;
      if (at.length !== count || at.some((k, j) => k !== j)) m.returns = { count, at };
    });
  }
  return out;
}

/** What a number in a constructor call is: its keyword, or the callee's parameter name at its position. */
function slotName(e: Emitter, { line, index, init }: Template['at'][number]): string {
  const kw = /([A-Za-z_]\w*)=$/.exec(line.slice(0, index))?.[1];
  if (kw) return kw;
  let depth = 0;
  let arg = 0;
  let i = index - 1;
  for (; i >= 0; i--) {
    const ch = line[i]!;
    if (ch === ')' || ch === ']') depth++;
    else if (ch === '(' || ch === '[') {
      if (depth === 0) break;
      depth--;
    } else if (ch === ',' && depth === 0) arg++;
  }
  const attr = init ? /^ +self\.(\w+)/.exec(line)?.[1] ?? 'arg' : 'value';
  const before = i > 0 && line[i] === '(' ? line.slice(0, i) : '';
  if (/\.(reshape|view)\($/.test(before)) return 'dim';
  const callee = /([A-Za-z_][\w.]*)$/.exec(before)?.[1];
  const named = callee?.includes('.') ? e.api.params(callee) : callee ? helperParams(e, callee) : [];
  return named[arg] ?? (init ? `${attr}_${arg}` : attr);
}

/** The parameter names of a module-level helper the code calls (`scaled_dot_product_attention(query, key, value, scale, ...)`). */
function helperParams(e: Emitter, name: string): string[] {
  const code = name === 'scaled_dot_product_attention' ? attentionHelper(e.opts.attention ?? 'math') : HELPERS[name]?.code ?? '';
  const m = new RegExp(`^def ${name}\\(([^)]*)\\)`, 'm').exec(code);
  return m ? m[1]!.split(',').map((p) => p.trim().replace(/=.*$/, '')) : [];
}

/** Preferred names when one value feeds several constructor arguments (a block's in_channels feeds a norm and a conv). */
const PREFER = ['in_channels', 'out_channels', 'in_features', 'out_features', 'num_groups', 'num_channels', 'num_heads', 'hidden_size', 'kernel_size', 'stride', 'padding', 'eps'];

/**
 * One class for instances whose bodies differ only in the numbers their constructors take: the numbers that differ
 * become __init__ parameters (one per distinct pattern of values, named after the argument it feeds), the rest stay.
 * Returns the class text and each instance's arguments (`in_channels=8`).
 */
function parametrise(e: Emitter, bodies: Template[], flags: MergedBody['flags'] = []): { body: string; args: string[][] } {
  const first = bodies[0]!;
  const params: { name: string; slots: number[]; values: string[] }[] = [];
  const byValues = new Map<string, (typeof params)[number]>();
  first.values.forEach((_, k) => {
    const values = bodies.map((b) => b.values[k]!);
    // A number all instances agree on stays literal, but for an attention's heads: a hand port always takes them.
    if (values.every((v) => v === values[0]) && (first.at[k]!.init || slotName(e, first.at[k]!) !== 'heads')) return;
    const key = JSON.stringify(values);
    const p = byValues.get(key) ?? { name: '', slots: [], values };
    if (!byValues.has(key)) {
      byValues.set(key, p);
      params.push(p);
    }
    p.slots.push(k);
  });
  // Attributes the class already has (submodules, layers) are not free for a constant construct() reads.
  const taken = new Set(['self', ...CELL_MEMBERS, ...[...first.text.matchAll(/self\.(\w+)/g)].map((m) => m[1]!)]);
  for (const p of params) {
    // The argument the value feeds most often, then the preferred name.
    const names = p.slots.map((k) => slotName(e, first.at[k]!));
    const count = (n: string) => names.filter((x) => x === n).length;
    const rank = (n: string) => (PREFER.includes(n) ? PREFER.indexOf(n) : PREFER.length);
    // `in_channels` and `out_channels` fed equally: the first wins (a block's out_channels feeds its first layer's
    // out_channels before the next layer's in_channels).
    const pair = (a: string, b: string) => (`${a} ${b}` === 'in_channels out_channels' || `${a} ${b}` === 'out_channels in_channels' ? names.indexOf(a) - names.indexOf(b) : 0);
    const best = [...new Set(names)].sort((a, b) => count(b) - count(a) || pair(a, b) || rank(a) - rank(b))[0]!;
    let name = best;
    for (let i = 2; taken.has(name); i++) name = `${best}_${i}`;
    taken.add(name);
    p.name = name;
  }
  // construct() reads a parameter as an attribute the constructor keeps.
  const slotParam = new Map(params.flatMap((p) => p.slots.map((k) => [k, first.at[k]!.init ? p.name : `self.${p.name}`] as const)));
  let body = first.text.replace(/\u0000(\d+)\u0000/g, (_, k: string) => slotParam.get(Number(k)) ?? first.values[Number(k)]!);
  // An optional part's condition: a comparison of the arguments where one says it (`in_channels != out_channels`,
  // `stride != 1`), else a flag argument named after the part.
  const flagArgs: { name: string; values: string[] }[] = [];
  flags.forEach((f, k) => {
    const when = (test: (i: number) => boolean) => f.present.every((p, i) => p === test(i));
    let cond = '';
    // Only sizes and strides (integers) say it: a float that happens to differ is no reason for a part.
    const ints = params.filter((p) => p.values.every((v) => /^\d+$/.test(v)));
    for (const p of ints) {
      if (cond) break;
      if (when((i) => p.values[i] !== '1')) cond = `${p.name} != 1`;
      for (const q of ints) if (!cond && q !== p && when((i) => p.values[i] !== q.values[i])) cond = `${p.name} != ${q.name}`;
    }
    if (!cond) {
      let name = `use_${f.members[0]}`;
      for (let i = 2; taken.has(name); i++) name = `use_${f.members[0]}_${i}`;
      taken.add(name);
      flagArgs.push({ name, values: f.present.map((p) => (p ? 'True' : 'False')) });
      cond = name;
    }
    body = body.replaceAll(`\u0001${k}\u0001`, cond);
  });
  params.push(...flagArgs.map((f) => ({ name: f.name, slots: [], values: f.values })));
  if (params.length) {
    const kept = params.filter((p) => p.slots.some((k) => !first.at[k]!.init)).map((p) => `\n    self.${p.name} = ${p.name}`).join('');
    body = body.replace(/^def __init__\(self\):\n {4}super\(\)\.__init__\(\)/, `def __init__(self, ${params.map((p) => p.name).join(', ')}):\n    super().__init__()${kept}`);
  }
  return { body, args: bodies.map((_, i) => params.map((p) => `${p.name}=${p.values[i]}`)) };
}

export function classNameFor(e: Emitter, m: Mod): string {
  if (m.classHint) return className(m.classHint);
  let seg = m.seg;
  if (NUMERIC.test(seg) && m.parent) {
    seg = m.parent.seg.replace(/_?(list|layers)$/i, '').replace(/ies$/, 'y').replace(/([^s])s$/, '$1') || m.parent.seg;
    if (seg === '') seg = 'Block';
  }
  return className(seg, 'Block');
}

export function header(e: Emitter, w: CodeWriter, top: string): void {
  const src = pyComment(e.opts.source ?? 'model.onnx', 80);
  const producer = pyComment(`${e.model.producerName ?? ''} ${e.model.producerVersion ?? ''}`.trim() || 'unknown producer', 60);
  w.line(`"""${top}: MindSpore port of ${src}, generated by msgraph.`);
  w.line();
  w.line(`Source: ${src} (${producer}, opset ${e.opset}).`);
  w.line(`Target: MindSpore ${e.msVersion} (mint API), GRAPH_MODE or PYNATIVE_MODE.`);
  w.line('Weights: model.safetensors or model.ckpt; weight_map.json maps each ONNX initializer to its parameter.');
  if (e.fallbacks.length) w.line(`PARTIAL: ${e.fallbacks.length} op(s) have no mapping and raise NotImplementedError (see report.md).`);
  w.line('"""');
  w.line('import mindspore as ms');
  w.line('from mindspore import mint, nn, ops  # noqa: F401');
  if (e.helpersUsed.has('scaled_dot_product_attention')) {
    w.line();
    w.line('# "math" runs anywhere; "flash" uses ops.flash_attention_score (Ascend, fp16/bf16 only).');
    w.line(`ATTENTION_BACKEND = ${pyString(e.opts.attention ?? 'math')}`);
  }
}

export function topDoc(e: Emitter): string {
  const ins = e.model.graph.inputs.filter((v) => !v.const).map((v) => `${e.inputNames.get(v) ?? identifier(v.name)}${fmtShape(shapeOf(v))}`);
  const outs = e.model.graph.outputs.map((v) => `${pyComment(v.name, 40)}${fmtShape(shapeOf(v))}`);
  return `The model: ${pyComment(ins.join(', '), 200)} -> ${pyComment(outs.join(', '), 200)}.`;
}

/** Attribute names: the source's own where they are identifiers (state_dict names survive). */
export function assignAttrs(e: Emitter, m: Mod): void {
  // Every nn.Cell member of every supported version: a submodule or parameter of that name would shadow it.
  const namer = new Namer([...CELL_MEMBERS, 'parameters']);
  const ordered = [...m.children.values()].sort((a, b) => a.first - b.first || a.seg.localeCompare(b.seg));
  for (const c of [...m.children.values()]) {
    c.attr = m.cellList ? c.seg : namer.exact(c.seg, 'block');
    if (!m.cellList && c.attr !== c.seg) e.warnings.add(`module "${pyComment(c.path.join('.'), 80)}" is named ${c.attr} in the Cell (${c.seg} is not an identifier, or is taken by nn.Cell or Python)`);
  }
  for (const b of m.buffers) {
    if (b.alias) continue;
    const attr = PATH_NAME.test(b.value.name) ? namer.exact(b.attr, 'constant') : namer.take(b.attr, 'constant');
    if (PATH_NAME.test(b.value.name) && attr !== b.attr) e.warnings.add(`parameter "${pyComment(b.value.name, 80)}" is named ${attr} in the Cell (${b.attr} is taken by nn.Cell or Python)`);
    b.attr = attr;
  }
  for (const c of ordered) assignAttrs(e, c);
}

/** `self.a.b[0].c` from module `from` to module `to` (a descendant). */
export function access(e: Emitter, from: Mod, to: Mod): string {
  const chain: Mod[] = [];
  for (let cur: Mod | null = to; cur && cur !== from; cur = cur.parent) chain.unshift(cur);
  let s = 'self';
  for (const c of chain) s += c.parent?.cellList ? `[${c.seg}]` : `.${c.attr}`;
  return s;
}

export function classBody(e: Emitter, m: Mod): string {
  const w = new CodeWriter();
  w.line('def __init__(self):');
  w.indent(() => {
    w.line('super().__init__()');
    const entries = initEntries(e, m);
    for (const e of entries) w.line(e);
  });
  if (!m.flat) {
    w.line();
    e.construct(m, w);
  }
  return w.toString().replace(/\n$/, '');
}

export function initEntries(e: Emitter, m: Mod): string[] {
  const lines: string[] = [];
  const kids = [...m.children.values()].sort((a, b) => a.first - b.first || a.seg.localeCompare(b.seg));
  const render = (c: Mod): string => {
    if (c.layer) return layerCtor(e, c.layer);
    if (c.cellList) {
      const idx = [...c.children.keys()].map(Number);
      const max = Math.max(...idx);
      const parts: string[] = [];
      for (let i = 0; i <= max; i++) {
        const k = c.children.get(String(i));
        // A numbered child with no work (dropout, an activation folded away) keeps its index with a placeholder.
        parts.push(k && !k.vanishes ? render(k) : e.api.has('mint.nn.Identity') ? e.api.call('mint.nn.Identity') : 'nn.Cell()');
      }
      return `nn.CellList([${parts.join(', ')}])`;
    }
    return `${c.cls}(${c.clsArgs.join(', ')})`;
  };
  for (const c of kids) if (!c.vanishes) lines.push(`self.${c.attr} = ${render(c)}`);
  for (const b of m.buffers) {
    if (b.alias) continue;
    const t = b.tensor;
    if (b.kind === 'computed') {
      lines.push(`self.${b.attr} = ${computedTensor(e.api, t)}`);
      continue;
    }
    const ms = t.dtype.ms ?? 'ms.float32';
    const dims = b.transposed ? [...t.dims].reverse() : t.dims;
    const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
    lines.push(`self.${b.attr} = ms.Parameter(${e.api.call('mint.zeros', shape, `dtype=${ms}`)}${b.kind === 'learned' ? '' : ', requires_grad=False'})`);
  }
  if (lines.length === 0) lines.push('pass');
  return lines.filter((l) => l !== 'super().__init__()');
}

export function layerCtor(e: Emitter, l: Layer): string {
  const args = [...l.args.map(String), ...l.kwargs.map(([k, v]) => `${k}=${v}`)];
  return e.api.call(l.cls, ...args);
}

export function collectParams(e: Emitter): ParamRecord[] {
  const out: ParamRecord[] = [];
  const walk = (m: Mod, prefix: string) => {
    const kids = [...m.children.values()].sort((a, b) => a.first - b.first || a.seg.localeCompare(b.seg));
    for (const c of kids) {
      const p = prefix + (m.cellList ? c.seg : c.attr);
      if (c.layer) {
        for (const lp of c.layer.params) out.push(record(e, `${p}.${lp.attr}`, lp));
      } else walk(c, p + '.');
    }
    for (const b of m.buffers) {
      if (b.alias || b.kind === 'computed') continue;
      const t = b.tensor;
      out.push(b.transposed
        ? { name: prefix + b.attr, source: b.value.name, dims: [...t.dims].reverse(), dtype: t.dtype.name, nbytes: t.nbytes, load: (reuse) => transpose2d(t, reuse), transform: 'transposed (ONNX MatMul weight is [in, out])', kind: 'constant' }
        : { name: prefix + b.attr, source: b.value.name, dims: [...t.dims], dtype: t.dtype.name, nbytes: t.nbytes, load: () => t.payload(), kind: 'constant' });
    }
  };
  walk(e.root, '');
  return out;
}

export function record(e: Emitter, name: string, lp: LayerParam): ParamRecord {
  const dtype = (lp as LayerParam & { dtype?: string }).dtype ?? lp.tensor.dtype.name;
  return { name, source: lp.source, dims: lp.dims, dtype, nbytes: lp.nbytes, load: lp.load, transform: lp.transform, kind: 'layer' };
}
