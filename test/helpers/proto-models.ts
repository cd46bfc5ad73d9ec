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
