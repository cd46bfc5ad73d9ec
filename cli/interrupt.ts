/**
 * Ctrl-C and termination. While msgraph computes, no handler is installed, so SIGINT/SIGTERM stop the process at
 * once (a handler could only run once the synchronous work is over). Outputs are staged under temporary names;
 * only while they are written is a handler installed, and a signal then removes the temporaries and exits 130
 * before anything is renamed into place. A model whose weights are written into the output while it compiles
 * (src/frontend/onnx/write-ahead.ts) has its temporary from the start: a process outside this one removes it when
 * this one ends without renaming it, by a signal or SIGKILL. Other temporaries that SIGKILL leaves behind are
 * removed by the next run that writes the same output.
 */
import type { Staged } from '../src/frontend/onnx/node-fs.js';

export async function writeInterruptibly(stage: () => Staged | Promise<Staged>): Promise<void> {
  let signalled = false;
  const on = () => {
    signalled = true;
  };
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  try {
    const staged = await stage();
    // A signal that arrived during the writes is delivered here.
    await new Promise((r) => setTimeout(r, 0));
    await new Promise((r) => setImmediate(r));
    if (signalled) {
      staged.abort();
      process.stderr.write('\nmsgraph: interrupted; nothing was written\n');
      process.exit(130);
    }
    staged.commit();
  } finally {
    process.off('SIGINT', on);
    process.off('SIGTERM', on);
  }
}
