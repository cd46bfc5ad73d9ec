/**
 * Recovers the PyTorch module tree from the names an exporter left behind: initializer names
 * (`down_blocks.0.resnets.0.conv1.weight`), scoped node names of the TorchScript exporter in torch >= 2.0
 * (`/down_blocks.0/resnets.0/conv1/Conv`) and the dynamo exporter's `pkg.torch.onnx.name_scopes` /
 * `pkg.torch.onnx.class_hierarchy` node metadata.
 */
import type { Graph } from '../ir/graph.js';
import type { Node } from '../ir/node.js';

export interface ModuleParam {
  name: string;
  dtype: string;
  shape: number[];
  size: number;
  /** The initializer that holds it. */
  initializer: string;
}

export interface ModuleInfo {
  /** Attribute name within the parent ('' for the root). */
  name: string;
  /** Dotted path from the root, as in a state_dict (`down_blocks.0.resnets.0`). */
  path: string;
  /** Python class (`torch.nn.modules.conv.Conv2d`) where the exporter recorded it. */
  className?: string;
  children: ModuleInfo[];
  params: ModuleParam[];
  /** Nodes whose scope is exactly this module. */
  nodes: number;
}

export const NAME_SCOPES = 'pkg.torch.onnx.name_scopes';
export const CLASS_HIERARCHY = 'pkg.torch.onnx.class_hierarchy';

/** Parses a Python list literal of strings as the dynamo exporter writes it: `['', 'layer1', 'conv']`. */
export function parsePyStringList(s: string): string[] | null {
  const t = s.trim();
  if (!t.startsWith('[') || !t.endsWith(']')) return null;
  const out: string[] = [];
  const re = /\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\s*(,|$)/y;
  const body = t.slice(1, -1);
  re.lastIndex = 0;
  while (re.lastIndex < body.length) {
    const m = re.exec(body);
    if (!m) return null;
    out.push((m[1] ?? m[2] ?? '').replace(/\\(.)/g, '$1'));
    if (m[3] === '') break;
  }
  return out;
}

const IDENT_PATH = /^[A-Za-z_][\w]*(\.[\w]+)*$/;

/**
 * Turns scope segments into a module path. Exporters repeat the parent's name in list items
 * (`layer1/layer1.0/conv1` -> `layer1.0.conv1`); segments are split on dots.
 */
export function scopeToPath(segments: string[]): string[] {
  const out: string[] = [];
  let prev = '';
  for (const raw of segments) {
    if (raw === '') continue;
    let seg = raw;
    if (prev && seg.startsWith(prev + '.')) seg = seg.slice(prev.length + 1);
    else if (out.length && seg.startsWith(out.join('.') + '.')) seg = seg.slice(out.join('.').length + 1);
    prev = raw;
    out.push(...seg.split('.').filter((s) => s !== ''));
  }
  return out;
}

/** Module path of a node: from dynamo metadata, else from a scoped name; null when neither says. */
export function nodeScope(n: Node): { path: string[]; classes?: string[] } | null {
  const scopes = n.metadata.get(NAME_SCOPES);
  if (scopes !== undefined) {
    const list = parsePyStringList(scopes);
    if (list && list.length > 0) {
      const classes = parsePyStringList(n.metadata.get(CLASS_HIERARCHY) ?? '') ?? undefined;
      // The last entry names the operation itself, not a module.
      const mods = list.slice(0, -1);
      const cls = classes && classes.length === list.length ? classes.slice(0, -1) : undefined;
      return { path: scopeToPath(mods), classes: cls ? alignClasses(mods, cls) : undefined };
    }
  }
  if (n.name.startsWith('/')) {
    const segs = n.name.split('/').slice(1, -1);
    return { path: scopeToPath(segs) };
  }
  return null;
}

/** One class per path element: a segment like `layer1.0` spans two path elements, only the last gets the class. */
function alignClasses(mods: string[], classes: string[]): string[] {
  const out: string[] = [];
  let prev = '';
  mods.forEach((raw, i) => {
    if (raw === '') {
      out.push(classes[i] ?? '');
      return;
    }
    let seg = raw;
    if (prev && seg.startsWith(prev + '.')) seg = seg.slice(prev.length + 1);
    prev = raw;
    const parts = seg.split('.').filter((s) => s !== '');
    for (let k = 0; k < parts.length - 1; k++) out.push('');
    out.push(classes[i] ?? '');
  });
  return out;
}

export function buildModuleTree(graph: Graph): ModuleInfo {
  const root: ModuleInfo = { name: '', path: '', children: [], params: [], nodes: 0 };
  const index = new Map<string, ModuleInfo>([['', root]]);
  const get = (path: string[]): ModuleInfo => {
    let cur = root;
    for (let i = 0; i < path.length; i++) {
      const p = path.slice(0, i + 1).join('.');
      let m = index.get(p);
      if (!m) {
        m = { name: path[i]!, path: p, children: [], params: [], nodes: 0 };
        cur.children.push(m);
        index.set(p, m);
      }
      cur = m;
    }
    return cur;
  };
  const rootClass = (classes?: string[]) => {
    if (classes?.[0] && !root.className) root.className = classes[0];
  };
  for (const n of graph.allNodes()) {
    const s = nodeScope(n);
    if (!s) continue;
    const m = get(s.path);
    m.nodes++;
    rootClass(s.classes);
    if (s.classes) {
      // classes[0] is the root module; classes[i] belongs to path prefix of length i.
      for (let i = 1; i < s.classes.length && i <= s.path.length; i++) {
        const c = s.classes[i];
        const mod = index.get(s.path.slice(0, i).join('.'));
        if (c && mod && !mod.className) mod.className = c;
      }
    }
  }
  for (const v of graph.initializers) {
    if (!IDENT_PATH.test(v.name) || !v.name.includes('.')) continue;
    const parts = v.name.split('.');
    const t = v.const!;
    get(parts.slice(0, -1)).params.push({
      name: parts[parts.length - 1]!, dtype: t.dtype.name, shape: [...t.dims], size: t.size, initializer: v.name,
    });
  }
  return root;
}

/** Parameters held by a module and all its descendants. */
export function subtreeParams(m: ModuleInfo): number {
  return m.params.reduce((s, p) => s + p.size, 0) + m.children.reduce((s, c) => s + subtreeParams(c), 0);
}

export function countModules(m: ModuleInfo): number {
  return 1 + m.children.reduce((s, c) => s + countModules(c), 0);
}
