/**
 * What a MindSpore package's model.py is made of: its classes, and how many of construct()'s statements (each class
 * counted once) are shape plumbing (reshape, view, permute, transpose, swapaxes, (un)squeeze, flatten, reads of
 * `.shape`) rather than work.
 */
export interface PortStats {
  classes: string[];
  statements: number;
  plumbing: number;
}

const PLUMBING = /\.(reshape|view|swapaxes)\(|mint\.(permute|transpose|unsqueeze|squeeze|flatten)\(|\.shape\[/;

export function portStats(code: string): PortStats {
  const classes = [...code.matchAll(/^class (\w+)\(nn\.Cell\):/gm)].map((m) => m[1]!);
  let statements = 0;
  let plumbing = 0;
  let inConstruct = false;
  for (const line of code.split('\n')) {
    if (/^ {4}def construct\(/.test(line)) inConstruct = true;
    else if (/^ {0,4}\S/.test(line)) inConstruct = false;
    // Statements that compute something (a copy, `y = x`, as an optional part's `else` writes, is neither).
    else if (inConstruct && /^ {8,}[A-Za-z_][\w, ]* = /.test(line) && !/^ +\w+ = \w+$/.test(line)) {
      statements++;
      if (PLUMBING.test(line)) plumbing++;
    }
  }
  return { classes, statements, plumbing };
}
