/** Human-readable rendering of an InspectSummary. */
import type { InspectSummary, ValueSummary } from './inspect.js';
import { subtreeParams, type ModuleInfo } from './hierarchy.js';

export function humanCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}

export function humanBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} B`;
}

/** Names from the model are shown as JSON strings when they hold anything but plain printable characters. */
function safe(s: string): string {
  return /^[\x20-\x7e]*$/.test(s) && !s.includes('"') ? s : JSON.stringify(s);
}

function value(v: ValueSummary): string {
  return `${safe(v.name)}: ${v.type}`;
}

export function formatInspect(s: InspectSummary, opts: { depth?: number } = {}): string {
  const L: string[] = [];
  const row = (k: string, v: string) => L.push(`  ${k.padEnd(12)} ${v}`);
  L.push(safe(s.file));
  row('producer', `${safe(s.producerName) || '(none)'} ${safe(s.producerVersion)}`.trim());
  row('exporter', `${s.exporter.kind} (${s.exporter.evidence.map(safe).join('; ')})`);
  const opsets = Object.entries(s.opsets).map(([d, v]) => `${safe(d)} ${v}`).join(', ');
  row('ir version', `${s.irVersion}   opsets: ${opsets || '(none)'}`);
  s.inputs.forEach((v, i) => row(i === 0 ? 'inputs' : '', value(v)));
  if (s.inputs.length === 0) row('inputs', '(none)');
  s.outputs.forEach((v, i) => row(i === 0 ? 'outputs' : '', value(v)));
  const sub = s.nodeCountWithSubgraphs !== s.nodeCount ? ` (${s.nodeCountWithSubgraphs} with subgraphs)` : '';
  row('nodes', `${s.nodeCount}${sub}`);
  if (s.localFunctions.length) {
    row('functions', `${s.localFunctions.length} local functions, inlined: ${s.ir.nodeCountWithSubgraphs} nodes after inlining`);
  }
  row('parameters', `${humanCount(s.parameterCount)} (${humanBytes(s.parameterBytes)} in ${s.initializerCount} initializers)`);
  const ops = Object.entries(s.opHistogram);
  const shown = ops.slice(0, 12).map(([k, v]) => `${safe(k)} ${v}`).join(', ');
  row('ops', `${shown}${ops.length > 12 ? `, ... (${ops.length} kinds)` : ''}`);
  const meta = Object.keys(s.metadata);
  if (meta.length) row('metadata', meta.map(safe).join(', '));
  if (s.moduleCount > 0) {
    row('modules', `${s.moduleCount} recovered from names`);
    formatTree(s.modules, L, '    ', opts.depth ?? 4, 0);
  } else {
    row('modules', 'none recovered (no scoped names, name_scopes metadata or dotted initializer names)');
  }
  return L.join('\n') + '\n';
}

function formatTree(m: ModuleInfo, L: string[], indent: string, maxDepth: number, depth: number): void {
  if (depth > 0) {
    const cls = m.className ? ` (${safe(m.className.split('.').pop()!)})` : '';
    const n = subtreeParams(m);
    const params = m.params.length ? `  ${m.params.map((p) => `${safe(p.name)}[${p.shape.join(',')}]`).join(' ')}` : '';
    const total = n && m.children.length ? `  [${humanCount(n)} params]` : '';
    L.push(`${indent}${safe(m.name)}${cls}${params}${total}`);
  }
  if (depth >= maxDepth) {
    if (m.children.length) L.push(`${indent}  ... ${m.children.length} submodules`);
    return;
  }
  const childIndent = depth > 0 ? indent + '  ' : indent;
  for (const c of m.children) formatTree(c, L, childIndent, maxDepth, depth + 1);
}
