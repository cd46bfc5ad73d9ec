/**
 * Statements that are more than one op: ONNX If as a Python if/else, Loop as a while loop, and the OpCtx through which
 * op emitters render operands and record the APIs they call.
 */
import { MsgraphError } from '../../errors.js';
import type { Graph } from '../../ir/graph.js';
import type { Node } from '../../ir/node.js';
import type { Value } from '../../ir/value.js';
import { dtypeFromName, dtypeFromOnnx } from '../../ir/dtype.js';
import { HELPERS } from './helpers.js';
import { ATTENTION_APIS } from './attention.js';
import { literals, shapeOf, dtypeName, type Mod } from './cells.js';
import type { OpCtx } from './ops.js';
import type { CodeWriter, Namer } from './python.js';
import { fromTensor, num } from '../../ir/array.js';
import type { Emitter } from './emit.js';
import { emitItem, fallback } from './items.js';

/** ONNX If as a Python if/else (GRAPH_MODE compiles both branches); a branch known dead is left out. */
export function emitIf(e: Emitter, n: Node, m: Mod, scope: Namer, expr: Map<Value, string>, w: CodeWriter): void {
  const thenG = n.attrs.get('then_branch');
  const elseG = n.attrs.get('else_branch');
  if (thenG?.type !== 'graph' || elseG?.type !== 'graph') return fallback(e, n, 'If', 'If without both branches', scope, expr, w);
  const names = n.outputs.map((o, i) => (o ? scope.take(`if_${i}`, 'v') : '_'));
  const branch = (g: Graph) => {
    for (const sn of g) {
      if (sn.outputs[0] && e.constants.has(sn.outputs[0])) continue;
      emitItem(e, { kind: 'node', node: sn, index: -1, mod: m }, m, scope, expr, w);
    }
    g.outputs.forEach((o, i) => {
      if (names[i] !== '_') w.line(`${names[i]} = ${e.ref(o, m, expr, e.host.has(o) ? 'host' : 'tensor')}`);
    });
  };
  const live = [thenG.value, elseG.value].filter((g) => !e.dead.has(g));
  if (live.length === 1) branch(live[0]!);
  else {
    const cond = e.ref(n.inputs[0]!, m, expr, e.host.has(n.inputs[0]!) ? 'host' : 'tensor');
    w.line(`if ${cond}:`);
    w.indent(() => branch(thenG.value));
    w.line('else:');
    w.indent(() => branch(elseG.value));
  }
  n.outputs.forEach((o, i) => {
    if (!o) return;
    expr.set(o, names[i]!);
    const branchOut = thenG.value.outputs[i];
    if (branchOut && e.host.has(branchOut) && elseG.value.outputs[i] && e.host.has(elseG.value.outputs[i]!)) e.host.add(o);
  });
  e.count('If', live.length === 1 ? 'resolved branch' : 'python if');
}

/** ONNX Loop as a Python while loop; scan outputs are stacked after it. */
export function emitLoop(e: Emitter, n: Node, m: Mod, scope: Namer, expr: Map<Value, string>, w: CodeWriter): void {
  const body = n.attrs.get('body');
  if (body?.type !== 'graph') return fallback(e, n, 'Loop', 'Loop without a body', scope, expr, w);
  const g = body.value;
  const carried = n.inputs.length - 2;
  const scans = g.outputs.length - 1 - carried;
  const it = scope.take('i', 'i');
  const cond = scope.take('cond', 'cond');
  const vars = g.inputs.slice(2).map((v) => scope.take(v.name || 'state', 'state'));
  const scanLists = Array.from({ length: scans }, (_, k) => scope.take(`scan_${k}`, 'scan'));
  w.line(`${it} = ms.Tensor(0, ms.int64)`);
  w.line(`${cond} = ${n.inputs[1] ? e.ref(n.inputs[1], m, expr, 'tensor') : 'True'}`);
  n.inputs.slice(2).forEach((v, k) => w.line(`${vars[k]} = ${e.ref(v!, m, expr, e.host.has(v!) ? 'host' : 'tensor')}`));
  for (const l of scanLists) w.line(`${l} = []`);
  const tripConst = n.inputs[0] ? e.constants.get(n.inputs[0]) : undefined;
  const unbounded = tripConst && tripConst.size === 1 && Number(literals(tripConst)[0]) >= 2 ** 62;
  const trip = n.inputs[0] && !unbounded ? e.ref(n.inputs[0], m, expr, 'tensor') : null;
  w.line(`while ${trip ? `${it} < ${trip} and ` : ''}${cond}:`);
  w.indent(() => {
    if (g.inputs[0]) expr.set(g.inputs[0], it);
    if (g.inputs[1]) expr.set(g.inputs[1], cond);
    g.inputs.slice(2).forEach((v, k) => expr.set(v, vars[k]!));
    for (const sn of g) {
      if (sn.outputs[0] && e.constants.has(sn.outputs[0])) continue;
      emitItem(e, { kind: 'node', node: sn, index: -1, mod: m }, m, scope, expr, w);
    }
    const outs = g.outputs.map((o) => e.ref(o, m, expr, e.host.has(o) ? 'host' : 'tensor'));
    w.line(`${[cond, ...vars].join(', ')} = ${outs.slice(0, 1 + carried).join(', ')}`);
    scanLists.forEach((l, k) => w.line(`${l}.append(${outs[1 + carried + k]})`));
    w.line(`${it} = ${it} + 1`);
  });
  n.outputs.forEach((o, k) => {
    if (!o) return;
    if (k < carried) expr.set(o, vars[k]!);
    else {
      const name = scope.take(`${scanLists[k - carried]}_stacked`, 'v');
      w.line(`${name} = ${e.api.call('mint.stack', scanLists[k - carried]!, 'dim=0')}`);
      expr.set(o, name);
    }
  });
  if (scans) e.warnings.add('Loop scan outputs are collected with list appends (needs jit_syntax_level LAX in GRAPH_MODE)');
  e.count('Loop', 'python while');
}

export function opContext(e: Emitter, n: Node, op: string, m: Mod, expr: Map<Value, string>): OpCtx & { lastApi: string | null; tupleSize: number | null } {
    const attr = (k: string) => n.attrs.get(k);
  // Ops outside the tables at the model's opset were never checked for arity.
  const required = (i: number): Value => {
    const v = n.inputs[i];
    if (!v) throw new MsgraphError('model', `${n.qualifiedOp}: input ${i} is required but ${i < n.inputs.length ? 'empty' : 'missing'}`, { node: n.name || n.op });
    return v;
  };
  const c: OpCtx & { lastApi: string | null; tupleSize: number | null } = {
    node: n, op, lastApi: null, tupleSize: null,
    multi: (k) => {
      c.tupleSize = k;
    },
    t: (i) => e.ref(required(i), m, expr, 'tensor'),
    opnd: (i) => {
      const s = c.scalar(i) ?? c.t(i);
      return /^[\w.]+(\[[^\]]*\])?$|^\d/.test(s) && !s.startsWith('-') ? s : `(${s})`;
    },
    scalar: (i) => {
      const v = n.inputs[i];
      const t = v ? e.constants.get(v) : undefined;
      if (!t || t.size !== 1 || t.isString) return null;
      if (t.dims.length > 0) {
        // A one-element vector only acts as a scalar against an operand of rank >= 1.
        const others = n.inputs.filter((o, j) => o && j !== i).map((o) => shapeOf(o)?.length ?? 0);
        if (!others.some((r) => r >= t.dims.length)) return null;
      }
      return literals(t)[0]!;
    },
    host: (i) => e.ref(required(i), m, expr, 'host'),
    ints: (i) => {
      const v = n.inputs[i];
      if (!v) return null;
      const t = e.constants.get(v);
      if (t && /int/.test(t.dtype.name)) return Array.from(num(fromTensor(t)));
      const k = e.known.get(v);
      return k && k.elems.every((d) => typeof d === 'number') ? (k.elems as number[]) : null;
    },
    noZeroDims: (i) => {
      const k = n.inputs[i] ? e.known.get(n.inputs[i]!) : undefined;
      return !!k && k.elems.every((d) => d !== 0 && d !== null);
    },
    has: (i) => !!n.inputs[i],
    transposedWeight: (i) => !!(n.inputs[i] && e.buffers.get(n.inputs[i]!)?.transposed),
    rank: (i) => shapeOf(n.inputs[i])?.length ?? null,
    shape: (i) => shapeOf(n.inputs[i]),
    dtype: (i) => dtypeName(n.inputs[i]),
    outDtype: (i) => dtypeName(n.outputs[i]),
    outRank: (i) => shapeOf(n.outputs[i])?.length ?? null,
    attrInt: (k, d) => {
      const a = attr(k);
      return a && (a.type === 'int' || a.type === 'float') ? Number(a.value) : d;
    },
    attrFloat: (k, d) => {
      const a = attr(k);
      return a && (a.type === 'int' || a.type === 'float') ? Number(a.value) : d;
    },
    attrInts: (k) => {
      const a = attr(k);
      return a?.type === 'ints' ? a.value.map(Number) : undefined;
    },
    attrStr: (k, d) => {
      const a = attr(k);
      return a?.type === 'string' ? a.value : d;
    },
    apiHas: (api) => e.api.has(api),
    call: (api, ...args) => {
      c.lastApi = api;
      return e.api.call(api, ...args.map((a) => a ?? 'None'));
    },
    helper: (name) => {
      for (const a of name === 'scaled_dot_product_attention' ? ATTENTION_APIS : HELPERS[name]!.apis) e.api.require(a);
      e.helpersUsed.add(name);
      c.lastApi = `helper ${name}`;
      if (name === 'scatter_nd') e.warnings.add('ScatterND uses tensor item assignment (needs jit_syntax_level LAX in GRAPH_MODE)');
      return name;
    },
    msType: (d) => dtypeFromName(d)?.ms ?? 'ms.float32',
    dtypeOfOnnx: (code) => dtypeFromOnnx(code)?.name ?? null,
  };
  return c;
}
