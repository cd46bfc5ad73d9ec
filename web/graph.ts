/**
 * The graph picture: a layered DAG (dagre) of the compiled graph where each module of the model's hierarchy is one
 * box until it is expanded (click), fused ops highlighted. Expanding shows a module's children: submodules as boxes,
 * its own ops as nodes; the open modules are listed above the picture, each a button that closes it again.
 */
import dagre from '@dagrejs/dagre';
import { nodeScope, type Model } from '../src/browser.js';

/** Ops msgraph's fusions produce (or keep fused) on the ONNX Runtime target. */
const FUSED = new Set([
  'MultiHeadAttention', 'Attention', 'LayerNormalization', 'SkipLayerNormalization', 'SimplifiedLayerNormalization', 'Gelu', 'FastGelu',
  'BiasGelu', 'QuickGelu', 'HardSwish', 'HardSigmoid', 'FusedConv', 'FusedGemm', 'GroupNormalization',
]);

export const isFused = (op: string) => FUSED.has(op);

interface Unit {
  id: string;
  kind: 'op' | 'module' | 'io';
  label: string;
  sub: string;
  fused: number;
  ops: number;
}

const MAX_UNITS = 1500;

function scopeOf(n: Model['graph']['nodes'][number]): string[] {
  const s = nodeScope(n);
  if (s?.path.length) return s.path;
  // Names like /down_blocks.0/resnets.0/conv1/Conv: the directories are the module path.
  const parts = n.name.split('/').filter(Boolean);
  return parts.length > 1 ? parts.slice(0, -1) : [];
}

export class GraphView {
  private expanded = new Set<string>();

  constructor(
    private readonly model: Model,
    private readonly host: HTMLElement,
    private readonly onInfo: (text: string) => void,
  ) {}

  render(): { units: number; edges: number } {
    const g = this.model.graph;
    const units = new Map<string, Unit>();
    const unitOf = new Map<unknown, string>();
    for (const v of g.inputs.filter((x) => !x.const)) {
      units.set(`in:${v.name}`, { id: `in:${v.name}`, kind: 'io', label: v.name, sub: 'input', fused: 0, ops: 0 });
      unitOf.set(v, `in:${v.name}`);
    }
    g.nodes.forEach((n, i) => {
      const path = scopeOf(n);
      let id = '';
      let depth = 0;
      for (; depth < path.length; depth++) {
        const key = path.slice(0, depth + 1).join('/');
        if (!this.expanded.has(key)) {
          id = `m:${key}`;
          break;
        }
      }
      const fused = isFused(n.op) ? 1 : 0;
      if (id) {
        const u = units.get(id) ?? { id, kind: 'module' as const, label: path[depth]!, sub: '', fused: 0, ops: 0 };
        u.ops++;
        u.fused += fused;
        u.sub = `${u.ops} ops${u.fused ? `, ${u.fused} fused` : ''}`;
        units.set(id, u);
      } else {
        id = `n:${i}`;
        units.set(id, { id, kind: 'op', label: n.op, sub: n.name.split('/').pop() ?? '', fused, ops: 1 });
      }
      for (const o of n.outputs) if (o) unitOf.set(o, id);
    });
    for (const v of g.outputs) units.set(`out:${v.name}`, { id: `out:${v.name}`, kind: 'io', label: v.name, sub: 'output', fused: 0, ops: 0 });
    if (units.size > MAX_UNITS) {
      this.host.textContent = `${units.size} boxes at this level of expansion; collapse a module to draw the graph.`;
      return { units: units.size, edges: 0 };
    }
    const edges = new Set<string>();
    g.nodes.forEach((n) => {
      const to = unitOf.get(n.outputs[0]) ?? null;
      for (const i of n.inputs) {
        const from = i ? unitOf.get(i) : undefined;
        if (from && to && from !== to) edges.add(`${from}\u0000${to}`);
      }
    });
    for (const v of g.outputs) {
      const from = unitOf.get(v);
      if (from) edges.add(`${from}\u0000out:${v.name}`);
    }
    const dg = new dagre.graphlib.Graph();
    dg.setGraph({ rankdir: 'TB', nodesep: 18, ranksep: 28, marginx: 10, marginy: 10 });
    dg.setDefaultEdgeLabel(() => ({}));
    for (const u of units.values()) dg.setNode(u.id, { width: Math.max(90, 7 * Math.max(u.label.length, u.sub.length) + 16), height: u.kind === 'op' ? 34 : 40 });
    for (const e of edges) {
      const [a, b] = e.split('\u0000');
      dg.setEdge(a!, b!);
    }
    dagre.layout(dg);
    const NS = 'http://www.w3.org/2000/svg';
    const { width = 100, height = 100 } = dg.graph();
    const svg = document.createElementNS(NS, 'svg');
    svg.setAttribute('width', String(Math.ceil(width)));
    svg.setAttribute('height', String(Math.ceil(height)));
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', 'graph of the compiled model');
    const el = (tag: string, attrs: Record<string, string | number>, parent: Element = svg) => {
      const e = document.createElementNS(NS, tag);
      for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
      parent.appendChild(e);
      return e;
    };
    for (const e of dg.edges()) {
      const pts = dg.edge(e).points as { x: number; y: number }[];
      el('polyline', { points: pts.map((p) => `${p.x},${p.y}`).join(' '), class: 'edge' });
    }
    for (const id of dg.nodes()) {
      const u = units.get(id)!;
      const box = dg.node(id) as { x: number; y: number; width: number; height: number };
      const grp = el('g', { class: `unit ${u.kind}${u.fused ? ' fused' : ''}`, transform: `translate(${box.x - box.width / 2},${box.y - box.height / 2})`, 'data-id': id });
      el('rect', { width: box.width, height: box.height, rx: u.kind === 'module' ? 8 : 4 }, grp);
      const t = el('text', { x: 8, y: 15 }, grp);
      t.textContent = u.kind === 'module' ? `▸ ${u.label}` : u.label;
      const s = el('text', { x: 8, y: u.kind === 'op' ? 28 : 31, class: 'sub' }, grp);
      s.textContent = u.sub;
      if (u.kind === 'module') {
        grp.addEventListener('click', () => {
          this.expanded.add(id.slice(2));
          this.render();
        });
      } else if (u.kind === 'op') grp.addEventListener('click', () => this.onInfo(`${u.label}: ${u.sub}`));
    }
    // The open modules, each a button that closes it (and what is open inside it).
    const crumbs = document.createElement('div');
    crumbs.className = 'crumbs';
    for (const key of [...this.expanded].sort()) {
      const b = document.createElement('button');
      b.textContent = `▾ ${key}`;
      b.title = 'close this module';
      b.addEventListener('click', () => {
        for (const k of [...this.expanded]) if (k === key || k.startsWith(`${key}/`)) this.expanded.delete(k);
        this.render();
      });
      crumbs.appendChild(b);
    }
    this.host.replaceChildren(crumbs, svg);
    return { units: units.size, edges: edges.size };
  }

  collapseAll(): void {
    this.expanded.clear();
    this.render();
  }

  /** Expands every module down to `depth` levels. */
  expandTo(depth: number): void {
    for (const n of this.model.graph.nodes) {
      const p = scopeOf(n);
      for (let d = 1; d <= Math.min(depth, p.length); d++) this.expanded.add(p.slice(0, d).join('/'));
    }
    this.render();
  }
}
