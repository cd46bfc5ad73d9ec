/**
 * What the emitted code may call: every `mint.*` / `ops.*` name and keyword is checked against MindSpore's API
 * surface for the target version (mint-api.ts, read from MindSpore's sources) at the moment the call is written.
 */
import { MsgraphError } from '../../errors.js';
import { MINT_API, MS_VERSIONS, type ApiEntry } from './mint-api.js';

export { DEFAULT_MS_VERSION } from './version.js';

export function compareVersions(a: string, b: string): number {
  const parse = (v: string) => {
    const m = /^(\d+)\.(\d+)\.(\d+)(?:rc(\d+))?$/.exec(v);
    if (!m) return [0, 0, 0, 0];
    return [Number(m[1]), Number(m[2]), Number(m[3]), m[4] === undefined ? 1e9 : Number(m[4])];
  };
  const x = parse(a);
  const y = parse(b);
  for (let i = 0; i < 4; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return 0;
}

/** Positional and keyword parameter names of an entry at a version (all overloads together). */
function signatures(e: ApiEntry, version: string): string[][] {
  const sig = e.sigs.find((s) => s.versions.includes(version)) ?? e.sigs[e.sigs.length - 1]!;
  return [sig.params, ...(e.overloads ?? [])];
}

export class ApiChecker {
  readonly used = new Set<string>();

  constructor(readonly version: string) {
    if (!MS_VERSIONS.includes(version)) {
      throw new MsgraphError('usage', `unknown MindSpore version ${version}`, { hint: `known versions: ${MS_VERSIONS.join(', ')}` });
    }
  }

  atLeast(v: string): boolean {
    return compareVersions(this.version, v) >= 0;
  }

  has(api: string): boolean {
    return !!MINT_API[api]?.versions.includes(this.version);
  }

  require(api: string): ApiEntry {
    const e = MINT_API[api];
    if (!e || !e.versions.includes(this.version)) {
      const since = e ? ` (available in ${e.versions.join(', ')})` : '';
      throw new MsgraphError('unsupported', `${api} is not in MindSpore ${this.version}${since}`);
    }
    this.used.add(api);
    return e;
  }

  /** The positional parameter names of `api` at this version (its first signature). */
  params(api: string): string[] {
    const e = MINT_API[api];
    return e ? signatures(e, this.version)[0]!.map((p) => p.replace(/\?$/, '')).filter((p) => p !== 'self' && !p.startsWith('*')) : [];
  }

  /** `api(args)`, with `name=value` keyword arguments checked against the signature. */
  call(api: string, ...args: string[]): string {
    const e = this.require(api);
    const sigs = signatures(e, this.version);
    const kw = args.map((a) => /^([A-Za-z_]\w*)=(?!=)/.exec(a)?.[1]).filter((k): k is string => !!k);
    const positional = args.filter((a) => !/^([A-Za-z_]\w*)=(?!=)/.test(a)).length;
    const fits = sigs.some((params) => {
      const names = params.map((p) => p.replace(/\?$/, ''));
      const star = names.indexOf('*');
      const positionalNames = (star >= 0 ? names.slice(0, star) : names).filter((n) => !n.startsWith('*'));
      const varargs = names.some((n) => n.startsWith('*') && !n.startsWith('**') && n !== '*');
      const varkw = names.some((n) => n.startsWith('**'));
      if (!varargs && positional > positionalNames.length) return false;
      const usedPositional = new Set(positionalNames.slice(0, positional));
      return kw.every((k) => (names.includes(k) && !usedPositional.has(k)) || varkw);
    });
    if (!fits) {
      const sig = sigs[0]!.join(', ');
      throw new MsgraphError('unsupported', `${api}(${args.join(', ')}) does not match MindSpore ${this.version}'s signature (${sig})`);
    }
    return `${api}(${args.join(', ')})`;
  }
}
