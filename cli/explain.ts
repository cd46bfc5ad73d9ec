/** `--explain-fusion`: what fused, and why each near-miss did not. */
export function explain(nearMisses: readonly { node: string; reason: string }[], fused: string): void {
  process.stdout.write(`fusions: ${fused}\n`);
  if (!nearMisses.length) process.stdout.write('near-misses: none\n');
  for (const m of nearMisses) process.stdout.write(`not fused: ${m.node || '(unnamed)'}: ${m.reason}\n`);
}
