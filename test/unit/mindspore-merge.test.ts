/** Class bodies with optional parts (merge.ts), on bodies written by hand: what merges, what it becomes, what refuses. */
import { describe, expect, it } from 'vitest';
import { candidate, merge } from '../../src/backends/mindspore/merge.js';
import type { Mod } from '../../src/backends/mindspore/cells.js';

/** A body in the templates' form: numbers in `__init__` lines are slots (`\u0000k\u0000`) with per-instance values. */
function body(lines: string[], values: string[][]) {
  let k = 0;
  const text = lines.join('\n').replace(/#/g, () => `\u0000${k++}\u0000`);
  const mods = values.map((_, i) => ({ path: [`m${i}`] }) as unknown as Mod);
  const c = candidate(mods, text, values);
  if (!c) throw new Error('not a candidate');
  return c;
}

const plain = (s: string) => s.replace(/\u0000(\d+)\u0000/g, '<$1>');

describe('optional parts', () => {
  const down = body([
    'def __init__(self):', '    super().__init__()', '    self.resnets = R(#)', '    self.downsamplers = D(#)', '',
    'def construct(self, x0, x1):', '    resnets_0 = self.resnets(x0, x1)', '    downsamplers_0 = self.downsamplers(resnets_0)',
    '    return resnets_0, downsamplers_0',
  ], [['32', '32']]);
  const last = body([
    'def __init__(self):', '    super().__init__()', '    self.resnets = R(#)', '',
    'def construct(self, x0, x1):', '    resnets_0 = self.resnets(x0, x1)', '    return resnets_0',
  ], [['64']]);

  it('an instance that returns fewer results shares the class; its results map into the class return', () => {
    const m = merge(down, last)!;
    expect(m).not.toBeNull();
    expect(plain(m.rendered!.text)).toContain([
      '    if self.downsamplers is not None:', '        downsamplers_0 = self.downsamplers(resnets_0)', '    else:',
      '        downsamplers_0 = resnets_0', '    return resnets_0, downsamplers_0',
    ].join('\n'));
    expect(m.outs).toEqual([[0, 1], [0]]);
    expect(m.rendered!.flags).toEqual([{ members: ['downsamplers'], present: [true, false] }]);
    // The other way round it does not merge: the smaller body cannot return what it lacks.
    expect(merge(last, down)).toBeNull();
  });

  it('refuses a smaller return with a value the larger body does not return', () => {
    const other = body([
      'def __init__(self):', '    super().__init__()', '    self.resnets = R(#)', '',
      'def construct(self, x0, x1):', '    resnets_0 = self.resnets(x0, x1)', '    y = resnets_0 * 2', '    return y',
    ], [['64']]);
    expect(merge(down, other)).toBeNull();
  });

  it('a member in one body only, read where the other body reads its input, is guarded with an else', () => {
    const withShortcut = body([
      'def __init__(self):', '    super().__init__()', '    self.conv = C(#, #)', '    self.shortcut = C(#, #)', '',
      'def construct(self, x):', '    conv = self.conv(x)', '    shortcut = self.shortcut(x)', '    add = conv + shortcut', '    return add',
    ], [['8', '16', '8', '16']]);
    const without = body([
      'def __init__(self):', '    super().__init__()', '    self.conv = C(#, #)', '',
      'def construct(self, x):', '    conv = self.conv(x)', '    add = conv + x', '    return add',
    ], [['16', '16']]);
    const m = merge(withShortcut, without)!;
    expect(plain(m.rendered!.text)).toContain('    if self.shortcut is not None:\n        shortcut = self.shortcut(x)\n    else:\n        shortcut = x\n');
    expect(m.outs).toEqual([[0], [0]]);
    // The shortcut's sizes for the instance without it follow the conv's (the filler), so the text stays one.
    expect(m.rendered!.values[1]).toHaveLength(m.rendered!.values[0]!.length);
  });
});
