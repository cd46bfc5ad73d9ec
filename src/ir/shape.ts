import type { DType } from './dtype.js';

/** A dimension: a number when static, a string when symbolic (a name like `batch` or an expression), null when unknown. */
export type Dim = number | string | null;
export type Shape = Dim[];

export type ValueType =
  | { kind: 'tensor'; dtype: DType | null; shape: Shape | null; denotation?: string }
  | { kind: 'sparse_tensor'; dtype: DType | null; shape: Shape | null; denotation?: string }
  | { kind: 'sequence'; elem: ValueType | null; denotation?: string }
  | { kind: 'map'; key: DType | null; value: ValueType | null; denotation?: string }
  | { kind: 'optional'; elem: ValueType | null; denotation?: string };

export function tensorType(dtype: DType | null, shape: Shape | null): ValueType {
  return { kind: 'tensor', dtype, shape };
}

export function formatDim(d: Dim): string {
  return d === null ? '?' : String(d);
}

export function formatShape(shape: Shape | null): string {
  return shape === null ? '[*]' : `[${shape.map(formatDim).join(',')}]`;
}

export function formatType(t: ValueType | null): string {
  if (t === null) return '?';
  switch (t.kind) {
    case 'tensor':
      return `${t.dtype?.name ?? '?'}${formatShape(t.shape)}`;
    case 'sparse_tensor':
      return `sparse<${t.dtype?.name ?? '?'}${formatShape(t.shape)}>`;
    case 'sequence':
      return `seq<${formatType(t.elem)}>`;
    case 'map':
      return `map<${t.key?.name ?? '?'},${formatType(t.value)}>`;
    case 'optional':
      return `optional<${formatType(t.elem)}>`;
  }
}

/** Number of elements of a static shape, or null if any dim is not a number. */
export function staticSize(shape: Shape): number | null {
  let n = 1;
  for (const d of shape) {
    if (typeof d !== 'number') return null;
    n *= d;
  }
  return n;
}
