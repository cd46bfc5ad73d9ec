/**
 * The one error type msgraph throws on purpose. The CLI prints `msgraph: error: <file>: <message> (node <name>)`
 * and exits non-zero; anything that is not a MsgraphError is a bug and keeps its stack.
 */
export type ErrorCode =
  | 'io' // a file could not be read or written
  | 'decode' // bytes are not a well-formed protobuf / ONNX message
  | 'model' // a well-formed model whose content is invalid (cycles, undefined values, duplicates)
  | 'dtype' // an unknown or unsupported data type
  | 'external-data' // external tensor data missing, short, or escaping the model directory
  | 'unsupported' // a valid construct this version of msgraph cannot handle
  | 'verify' // the IR broke one of its invariants
  | 'usage'; // a command-line or API argument is wrong

export interface ErrorContext {
  file?: string;
  node?: string;
  hint?: string;
}

export class MsgraphError extends Error {
  readonly code: ErrorCode;
  file?: string;
  node?: string;
  readonly hint?: string;

  constructor(code: ErrorCode, message: string, ctx: ErrorContext = {}) {
    super(message);
    this.name = 'MsgraphError';
    this.code = code;
    this.file = ctx.file;
    this.node = ctx.node;
    this.hint = ctx.hint;
  }

  /** One line: `<file>: <message> (node <name>); hint`. */
  oneLine(): string {
    const parts: string[] = [];
    if (this.file) parts.push(`${this.file}: `);
    parts.push(this.message);
    if (this.node !== undefined) parts.push(` (node ${JSON.stringify(this.node)})`);
    if (this.hint) parts.push(`; ${this.hint}`);
    return parts.join('').replace(/[\r\n]+/g, ' ');
  }
}

export function isMsgraphError(e: unknown): e is MsgraphError {
  return e instanceof MsgraphError;
}
