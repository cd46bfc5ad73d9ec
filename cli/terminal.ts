/**
 * Names inside a model are data: printed raw, a name holding terminal escapes could rewrite the screen, move the
 * cursor or set the window title. Everything the CLI prints passes through `termSafe`, which spells control and
 * bidirectional-override characters as visible escapes.
 */
// C0 controls but tab and newline, DEL, C1 controls, and the bidi embedding/override/isolate characters.
const UNSAFE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;

export function termSafe(s: string): string {
  return s.replace(UNSAFE, (c) => {
    const code = c.codePointAt(0)!;
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** Makes every string written to `stream` terminal-safe (the CLI's data output goes through here). */
export function guardStream(stream: NodeJS.WriteStream): void {
  const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
  stream.write = ((chunk: unknown, ...rest: unknown[]) => write(typeof chunk === 'string' ? termSafe(chunk) : chunk, ...rest)) as typeof stream.write;
}

/** stderr as it was before guarding, for the progress line's own escapes. */
export const rawStderrWrite: (s: string) => boolean = process.stderr.write.bind(process.stderr);
