import type { Graph } from './graph.js';

/** Top-level container: the main graph plus the model-level facts an ONNX file carries. */
export class Model {
  graph: Graph;
  irVersion: number;
  /** Operator set versions by domain ('' is ai.onnx), in file order. */
  opsets: Map<string, number>;
  producerName = '';
  producerVersion = '';
  domain = '';
  modelVersion = 0;
  docString = '';
  metadata = new Map<string, string>();
  /** Opaque TrainingInfoProto / FunctionProto / DeviceConfigurationProto messages kept for round trips. */
  trainingInfo: Uint8Array[] = [];
  /** Local functions no node calls (called ones are inlined on import). */
  unusedFunctions: Uint8Array[] = [];
  deviceConfigurations: Uint8Array[] = [];

  constructor(graph: Graph, irVersion = 10, opsets: Map<string, number> = new Map([['', 17]])) {
    this.graph = graph;
    this.irVersion = irVersion;
    this.opsets = opsets;
  }

  opset(domain = ''): number | undefined {
    return this.opsets.get(domain) ?? (domain === '' ? this.opsets.get('ai.onnx') : undefined);
  }

  /** The default domain's opset. A file without opset imports predates them (IR < 3): its ops are opset 1. */
  get onnxOpset(): number {
    return this.opset('') ?? 1;
  }
}
