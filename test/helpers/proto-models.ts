/** Models written at the protobuf level, so tests can build what the IR would refuse (wrong arity, bad tensors). */
import { encodeModel } from '../../src/frontend/onnx/encode.js';
import { emptyAttributeP, emptyGraphP, emptyModelP, emptyNodeP, emptyTensorP, type AttributeP, type ModelP, type NodeP, type TensorP } from '../../src/frontend/onnx/proto.js';

export const vi = (name: string, shape: number[] = [2], elemType = 1) => ({
  name, type: { kind: 'tensor' as const, elemType, shape: shape.map((value) => ({ value })) }, docString: '', metadata: [],
});

export const node = (op: string, input: string[], output: string[], name: string, attribute: AttributeP[] = []): NodeP => ({ ...emptyNodeP(), opType: op, input, output, name, attribute });

export function protoModel(nodes: NodeP[], extra: Partial<ReturnType<typeof emptyGraphP>> = {}, opset = 17): ModelP {
  return { ...emptyModelP(), irVersion: 8, opsetImport: [{ domain: '', version: opset }], graph: { ...emptyGraphP(), name: 'g', input: [vi('x')], output: [vi('y')], node: nodes, ...extra } };
}

export const encodeProto = (m: ModelP): Uint8Array => encodeModel(m);

export function int64Tensor(name: string, values: (number | bigint)[], dims = [values.length]): TensorP {
  return { ...emptyTensorP(), name, dataType: 7, dims, int64Data: values.map((v) => BigInt(v)) } as TensorP;
}

export function floatTensor(name: string, values: number[], dims = [values.length]): TensorP {
  return { ...emptyTensorP(), name, dataType: 1, dims, floatData: values };
}

export const intAttr = (name: string, i: number | bigint): AttributeP => ({ ...emptyAttributeP(), name, type: 2, i });
export const tensorAttr = (name: string, t: TensorP): AttributeP => ({ ...emptyAttributeP(), name, type: 4, t });

/**
 * y = x @ w + b with w float32[k, n] (k * n * 4 bytes; 2560 x 4096 is 40 MiB, past the size from which the CLI
 * writes weights into the output while it compiles).
 */
export function largeMatMulModel(k = 2560, n = 4096): ModelP {
  const raw = (name: string, dims: number[], data: Float32Array): TensorP => ({ ...emptyTensorP(), name, dataType: 1, dims, rawData: new Uint8Array(data.buffer) });
  const w = new Float32Array(k * n).map((_, i) => Math.sin(i * 0.001));
  return protoModel([node('MatMul', ['x', 'w'], ['m'], 'mm'), node('Add', ['m', 'b'], ['y'], 'add')], {
    input: [vi('x', [1, k])], output: [vi('y', [1, n])], initializer: [raw('w', [k, n], w), raw('b', [n], new Float32Array(n).fill(0.5))],
  });
}

/** Deterministic float32 values, and a float32 tensor of them in raw_data (large ones stay on disk when read). */
export const floats = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + seed));
export function rawFloatTensor(name: string, dims: number[], seed: number): TensorP {
  const n = dims.reduce((a, b) => a * b, 1);
  return { ...emptyTensorP(), name, dataType: 1, dims, rawData: new Uint8Array(floats(n, seed).buffer) };
}
