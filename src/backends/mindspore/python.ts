/**
 * Python text: one Namer that turns model names into safe identifiers, one CodeWriter for indentation, and literal
 * formatting. Nothing from a model reaches emitted code except through `Namer.take`, `pyString` or `pyComment`.
 */

const KEYWORDS = [
  'False', 'None', 'True', 'and', 'as', 'assert', 'async', 'await', 'break', 'class', 'continue', 'def', 'del', 'elif',
  'else', 'except', 'finally', 'for', 'from', 'global', 'if', 'import', 'in', 'is', 'lambda', 'nonlocal', 'not', 'or',
  'pass', 'raise', 'return', 'try', 'while', 'with', 'yield', 'match', 'case', 'type', '_',
];
/** Every name in Python 3's builtins module (3.8 to 3.13). */
const BUILTINS = [
  'ArithmeticError', 'AssertionError', 'AttributeError', 'BaseException', 'BaseExceptionGroup', 'BlockingIOError',
  'BrokenPipeError', 'BufferError', 'BytesWarning', 'ChildProcessError', 'ConnectionAbortedError', 'ConnectionError',
  'ConnectionRefusedError', 'ConnectionResetError', 'DeprecationWarning', 'EOFError', 'Ellipsis', 'EncodingWarning',
  'EnvironmentError', 'Exception', 'ExceptionGroup', 'FileExistsError', 'FileNotFoundError', 'FloatingPointError',
  'FutureWarning', 'GeneratorExit', 'IOError', 'ImportError', 'ImportWarning', 'IndentationError', 'IndexError',
  'InterruptedError', 'IsADirectoryError', 'KeyError', 'KeyboardInterrupt', 'LookupError', 'MemoryError',
  'ModuleNotFoundError', 'NameError', 'NotADirectoryError', 'NotImplemented', 'NotImplementedError', 'OSError',
  'OverflowError', 'PendingDeprecationWarning', 'PermissionError', 'ProcessLookupError', 'RecursionError',
  'ReferenceError', 'ResourceWarning', 'RuntimeError', 'RuntimeWarning', 'StopAsyncIteration', 'StopIteration',
  'SyntaxError', 'SyntaxWarning', 'SystemError', 'SystemExit', 'TabError', 'TimeoutError', 'TypeError',
  'UnboundLocalError', 'UnicodeDecodeError', 'UnicodeEncodeError', 'UnicodeError', 'UnicodeTranslateError',
  'UnicodeWarning', 'UserWarning', 'ValueError', 'Warning', 'ZeroDivisionError', 'abs', 'aiter', 'all', 'anext',
  'any', 'ascii', 'bin', 'bool', 'breakpoint', 'bytearray', 'bytes', 'callable', 'chr', 'classmethod', 'compile',
  'complex', 'copyright', 'credits', 'delattr', 'dict', 'dir', 'divmod', 'enumerate', 'eval', 'exec', 'exit',
  'filter', 'float', 'format', 'frozenset', 'getattr', 'globals', 'hasattr', 'hash', 'help', 'hex', 'id', 'input',
  'int', 'isinstance', 'issubclass', 'iter', 'len', 'license', 'list', 'locals', 'map', 'max', 'memoryview', 'min',
  'next', 'object', 'oct', 'open', 'ord', 'pow', 'print', 'property', 'quit', 'range', 'repr', 'reversed', 'round',
  'set', 'setattr', 'slice', 'sorted', 'staticmethod', 'str', 'sum', 'super', 'tuple', 'type', 'vars', 'zip',
];
/** Module-level names the emitted file defines or imports. */
const RESERVED_GLOBALS = ['ms', 'mint', 'nn', 'ops', 'self', 'cls'];

export const PY_KEYWORDS: ReadonlySet<string> = new Set(KEYWORDS);

/** Makes an identifier out of anything: ASCII letters, digits and underscores, not starting with a digit. */
export function identifier(raw: string, fallback = 'v'): string {
  let s = raw
    .normalize('NFKD')
    .replace(/[^\x00-\x7f]/g, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9_]+/g, '_')
    .replace(/_+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toLowerCase();
  if (s === '') s = fallback;
  if (/^[0-9]/.test(s)) s = `${fallback}_${s}`;
  return s;
}

/** A class name: CamelCase ASCII. */
export function className(raw: string, fallback = 'Block'): string {
  const parts = raw.normalize('NFKD').replace(/[^\x00-\x7f]/g, '').split(/[^A-Za-z0-9]+/).filter(Boolean);
  let s = parts.map((p) => p[0]!.toUpperCase() + p.slice(1)).join('');
  if (s === '') s = fallback;
  if (/^[0-9]/.test(s)) s = fallback + s;
  return s;
}

/**
 * True when `s` can be written as a Python attribute name as is. Names with a leading underscore never are: dunder
 * names are Python's own, `__x` is mangled inside a class body, and `_x` is where nn.Cell keeps its state.
 */
export function isPlainIdentifier(s: string): boolean {
  return /^[A-Za-z][A-Za-z0-9_]*$/.test(s) && !PY_KEYWORDS.has(s);
}

/**
 * Hands out unique identifiers in one Python scope. Reserved words and names already taken get a numeric suffix
 * (`add`, `add_1`, ...). `take(raw)` sanitises; `exact(raw)` keeps the name when it is a valid identifier.
 */
export class Namer {
  private readonly used = new Set<string>();
  private readonly counters = new Map<string, number>();

  constructor(reserved: Iterable<string> = [], private readonly parent: Namer | null = null) {
    for (const r of reserved) this.used.add(r);
  }

  static module(): Namer {
    return new Namer([...KEYWORDS, ...BUILTINS, ...RESERVED_GLOBALS]);
  }

  has(name: string): boolean {
    return this.used.has(name) || (this.parent?.has(name) ?? false);
  }

  reserve(name: string): void {
    this.used.add(name);
  }

  /** A fresh identifier based on `raw`. */
  take(raw: string, fallback = 'v'): string {
    return this.claim(identifier(raw, fallback));
  }

  /** `raw` itself when it is a plain identifier and free (state_dict names must survive), else a sanitised one. */
  exact(raw: string, fallback = 'v'): string {
    if (isPlainIdentifier(raw) && !this.has(raw)) {
      this.used.add(raw);
      return raw;
    }
    return this.take(raw, fallback);
  }

  private claim(base: string): string {
    if (!this.has(base) && !KEYWORDS.includes(base)) {
      this.used.add(base);
      return base;
    }
    let i = this.counters.get(base) ?? 1;
    while (this.has(`${base}_${i}`)) i++;
    this.counters.set(base, i + 1);
    const name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }
}

/** Indented lines. */
export class CodeWriter {
  private readonly lines: string[] = [];
  private depth = 0;

  line(text = ''): this {
    this.lines.push(text === '' ? '' : '    '.repeat(this.depth) + text);
    return this;
  }

  indent(body: () => void): this {
    this.depth++;
    body();
    this.depth--;
    return this;
  }

  toString(): string {
    return this.lines.join('\n') + '\n';
  }
}

/** A Python string literal (double-quoted, escaped, ASCII only). */
export function pyString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (c >= 0x20 && c < 0x7f) out += ch;
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x09) out += '\\t';
    else if (c < 0x100) out += '\\x' + c.toString(16).padStart(2, '0');
    else if (c < 0x10000) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += '\\U' + c.toString(16).padStart(8, '0');
  }
  return out + '"';
}

/** Text safe inside a docstring or comment: printable ASCII, no quotes runs, no line breaks. */
export function pyComment(s: string, max = 120): string {
  const t = s.replace(/[^\x20-\x7e]/g, '?').replace(/\\/g, '/').replace(/"""|'''/g, "'");
  return t.length > max ? t.slice(0, max - 3) + '...' : t;
}

/** A float literal that round-trips float32/float64 values and spells non-finite ones. */
export function pyFloat(x: number): string {
  if (Number.isNaN(x)) return 'float("nan")';
  if (x === Infinity) return 'float("inf")';
  if (x === -Infinity) return '-float("inf")';
  if (Number.isInteger(x) && Math.abs(x) < 1e16) return x.toFixed(1);
  const s = String(x);
  return s.includes('e') || s.includes('.') ? s : s + '.0';
}
