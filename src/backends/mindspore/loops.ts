/** construct() statements rewritten into the loops a hand port writes. */
import type { Mod } from './cells.js';

/**
 * `a = self.layers[0](x)`, `b = self.layers[1](a)`, ... through a whole CellList, each result read only by the next
 * call, becomes a loop over the list (`for block in self.layers: b = block(b)`), as a hand port writes it.
 */
export function loopChains(lines: string[], m: Mod): string[] {
  const out: string[] = [];
  const uses = (name: string) => lines.reduce((n, l) => n + (l.match(new RegExp(`\\b${name}\\b`, 'g'))?.length ?? 0), 0);
  for (let i = 0; i < lines.length; i++) {
    const first = /^(\w+) = self\.(\w+)\[0\]\((\w+)\)$/.exec(lines[i]!);
    const list = first ? [...m.children.values()].find((c) => c.cellList && c.attr === first[2]) : undefined;
    if (!first || !list) {
      out.push(lines[i]!);
      continue;
    }
    const vars = [first[1]!];
    while (i + vars.length < lines.length) {
      const next = new RegExp(`^(\\w+) = self\\.${first[2]}\\[${vars.length}\\]\\(${vars[vars.length - 1]}\\)$`).exec(lines[i + vars.length]!);
      if (!next) break;
      vars.push(next[1]!);
    }
    const last = vars[vars.length - 1]!;
    if (vars.length < 2 || vars.length !== list.children.size || vars.slice(0, -1).some((v) => uses(v) !== 2)) {
      out.push(lines[i]!);
      continue;
    }
    const item = ['block', 'layer', 'cell'].find((n) => uses(n) === 0) ?? 'block_';
    out.push(`${last} = ${first[3]}`, `for ${item} in self.${first[2]}:`, `    ${last} = ${item}(${last})`);
    i += vars.length - 1;
  }
  return out;
}

