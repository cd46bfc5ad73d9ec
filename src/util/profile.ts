/**
 * Where a compile spends its time and memory (`--profile`): each phase's wall time, the bytes it left allocated
 * (JavaScript heap plus array buffers, the tensors' home) and the resident set size when it ended. Works in the
 * browser too, where only times are available. Profiles are never part of deterministic outputs unless asked for.
 */
export interface PhaseRecord {
  phase: string;
  ms: number;
  /** Change of heap + array-buffer bytes over the phase (negative when it freed more than it kept). */
  retained_bytes?: number;
  /** Resident set size at the end of the phase. */
  rss_bytes?: number;
}

interface MemorySample {
  held: number;
  rss: number;
}

function sample(): MemorySample | null {
  const p = (globalThis as { process?: { memoryUsage?: () => { heapUsed: number; arrayBuffers: number; rss: number } } }).process;
  if (!p?.memoryUsage) return null;
  const u = p.memoryUsage();
  return { held: u.heapUsed + u.arrayBuffers, rss: u.rss };
}

export class Profile {
  readonly phases: PhaseRecord[] = [];

  /** `memory`: sample memory at each phase's ends too (reading the resident set size costs a system call). */
  constructor(private readonly memory = true) {}

  /** Runs `fn` as one phase. */
  run<T>(phase: string, fn: () => T): T {
    const t0 = performance.now();
    const m0 = this.memory ? sample() : null;
    try {
      return fn();
    } finally {
      this.record(phase, performance.now() - t0, m0);
    }
  }

  async runAsync<T>(phase: string, fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    const m0 = this.memory ? sample() : null;
    try {
      return await fn();
    } finally {
      this.record(phase, performance.now() - t0, m0);
    }
  }

  /** A phase timed elsewhere (the pass manager's own records). */
  add(phase: string, ms: number): void {
    this.phases.push({ phase, ms });
  }

  private record(phase: string, ms: number, m0: MemorySample | null): void {
    const m1 = m0 ? sample() : null;
    this.phases.push({ phase, ms, ...(m0 && m1 ? { retained_bytes: m1.held - m0.held, rss_bytes: m1.rss } : {}) });
  }

  get totalMs(): number {
    return this.phases.reduce((s, p) => s + p.ms, 0);
  }

  /** A table for the terminal. */
  format(title: string): string {
    const mib = (b: number | undefined) => (b === undefined ? '' : `${(b / 2 ** 20).toFixed(1)}`);
    const w = Math.max(5, ...this.phases.map((p) => p.phase.length));
    const lines = [`${title}`, `  ${'phase'.padEnd(w)}  ${'ms'.padStart(9)}  ${'share'.padStart(6)}  ${'retained MiB'.padStart(12)}  ${'RSS MiB'.padStart(8)}`];
    const total = this.totalMs || 1;
    for (const p of this.phases) {
      lines.push(`  ${p.phase.padEnd(w)}  ${p.ms.toFixed(1).padStart(9)}  ${`${((100 * p.ms) / total).toFixed(1)}%`.padStart(6)}  ${mib(p.retained_bytes).padStart(12)}  ${mib(p.rss_bytes).padStart(8)}`);
    }
    lines.push(`  ${'total'.padEnd(w)}  ${this.totalMs.toFixed(1).padStart(9)}`);
    return lines.join('\n') + '\n';
  }
}
