import type { Graph } from '../ir/graph.js';
import type { NDArray } from '../ir/array.js';

export interface Attrs {
  i(name: string, dflt: number): number;
  iOpt(name: string): number | undefined;
  ints(name: string): number[] | undefined;
  f(name: string, dflt: number): number;
  floats(name: string): number[] | undefined;
  s(name: string, dflt: string): string;
  strs(name: string): string[] | undefined;
  t(name: string): NDArray | undefined;
  g(name: string): Graph | undefined;
  has(name: string): boolean;
}

export interface EvalCtx {
  opset: number;
  /** A mint dialect node: run-time operands sit at their newest-form positions. */
  dialect: boolean;
  outputs: number;
  /** Runs a subgraph with its formal inputs bound to `inputs`; outer values stay visible. */
  run(g: Graph, inputs: (NDArray | null)[]): NDArray[];
}

export type Kernel = (ins: (NDArray | null)[], a: Attrs, ctx: EvalCtx) => (NDArray | null)[];
