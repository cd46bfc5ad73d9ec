/**
 * Operands that ONNX moved from attributes to inputs over its versions. The dialect holds them as attributes when
 * they are constant, whatever the source opset, and keeps run-time ones as inputs at their position in the newest
 * form of the op; lowering puts each back where the target opset wants it.
 */
export type OperandKind = 'ints' | 'int' | 'floats' | 'float';

export interface Operand {
  attr: string;
  kind: OperandKind;
  /** Tensor type lowering creates: a fixed one, or 'data' for the type of input 0. */
  dtype: 'int64' | 'float32' | 'bool' | 'data';
  /** Input position in the newest form of the op (the dialect's position for run-time operands). */
  index: number;
  /** Position at an older opset where it differs. */
  indexAt?: (opset: number) => number;
  /** First opset where it is an input; before that it is an attribute, or, with `newIn`, does not exist. */
  inputFrom: number;
  newIn?: boolean;
  /** A single value that the input form wants as a 1-D tensor of one element (TopK's k). */
  oneElement?: boolean;
}

const axes = (from: number): Operand[] => [{ attr: 'axes', kind: 'ints', dtype: 'int64', index: 1, inputFrom: from }];
const REDUCE18 = ['ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSumSquare'];
const scales = (inputFrom: number, legacy: number): Operand => ({
  attr: 'scales', kind: 'floats', dtype: 'float32', index: 2, indexAt: (o) => (o < legacy ? 1 : 2), inputFrom,
});

export const OPERANDS: Record<string, Operand[]> = {
  Squeeze: axes(13),
  Unsqueeze: axes(13),
  ReduceSum: axes(13),
  ...Object.fromEntries(REDUCE18.map((op) => [op, axes(18)])),
  Split: [{ attr: 'split', kind: 'ints', dtype: 'int64', index: 1, inputFrom: 13 }],
  Slice: [
    { attr: 'starts', kind: 'ints', dtype: 'int64', index: 1, inputFrom: 10 },
    { attr: 'ends', kind: 'ints', dtype: 'int64', index: 2, inputFrom: 10 },
    { attr: 'axes', kind: 'ints', dtype: 'int64', index: 3, inputFrom: 10 },
    { attr: 'steps', kind: 'ints', dtype: 'int64', index: 4, inputFrom: 10, newIn: true },
  ],
  Pad: [
    { attr: 'pads', kind: 'ints', dtype: 'int64', index: 1, inputFrom: 11 },
    { attr: 'value', kind: 'float', dtype: 'data', index: 2, inputFrom: 11 },
    { attr: 'axes', kind: 'ints', dtype: 'int64', index: 3, inputFrom: 18, newIn: true },
  ],
  Clip: [
    { attr: 'min', kind: 'float', dtype: 'data', index: 1, inputFrom: 11 },
    { attr: 'max', kind: 'float', dtype: 'data', index: 2, inputFrom: 11 },
  ],
  TopK: [{ attr: 'k', kind: 'int', dtype: 'int64', index: 1, inputFrom: 10, oneElement: true }],
  Reshape: [{ attr: 'shape', kind: 'ints', dtype: 'int64', index: 1, inputFrom: 5 }],
  Dropout: [
    { attr: 'ratio', kind: 'float', dtype: 'float32', index: 1, inputFrom: 12 },
    { attr: 'training_mode', kind: 'int', dtype: 'bool', index: 2, inputFrom: 12, newIn: true },
  ],
  // Upsample (opset 7-9) and Resize share the dialect op; positions follow Resize from opset 11 on.
  Upsample: [scales(9, 99)],
  Resize: [
    { attr: 'roi', kind: 'floats', dtype: 'float32', index: 1, inputFrom: 11, newIn: true },
    scales(10, 11),
    { attr: 'sizes', kind: 'ints', dtype: 'int64', index: 3, inputFrom: 11, newIn: true },
  ],
};

export function operandIndex(o: Operand, opset: number): number {
  return o.indexAt ? o.indexAt(opset) : o.index;
}

/** Binary ops that, before opset 7, broadcast only with `broadcast=1`, lining B up with A at `axis`. */
export const LEGACY_BROADCAST: ReadonlySet<string> = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Equal', 'Greater', 'Less', 'And', 'Or', 'Xor']);
