/** `inspect --json` agrees with the python onnx package on counts, histograms, opsets and signatures. */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { loadModelFile } from '../../src/frontend/onnx/node-fs.js';
import { inspectModel, protoStats, type InspectSummary } from '../../src/frontend/inspect.js';
import { committedModels, corpusModels, zooModels } from '../helpers/ort.js';
import { msgraph } from '../helpers/cli.js';

const PY = '/usr/bin/python3';
const probe = spawnSync(PY, ['-c', 'import onnx'], { encoding: 'utf8' });
const hasOnnx = probe.status === 0;
if (!hasOnnx) {
  console.warn('\n*** SKIPPED python cross-check: Debian python3-onnx is missing (apt-get install -y python3-onnx) ***\n');
}

function inspectFile(file: string): InspectSummary {
  let stats: ReturnType<typeof protoStats> | undefined;
  const m = loadModelFile(file, { beforeImport: (p) => (stats = protoStats(p)) });
  return inspectModel(m, stats!, file);
}

const files = [...committedModels(), ...zooModels(), ...corpusModels()];

describe.skipIf(!hasOnnx)('inspect agrees with python onnx', () => {
  const r = hasOnnx ? spawnSync(PY, [path.join(import.meta.dirname, '../python/onnx_stats.py'), ...files], { encoding: 'utf8', maxBuffer: 64 << 20 }) : null;
  const py: Record<string, Record<string, unknown>> = r && r.status === 0 ? JSON.parse(r.stdout) : {};
  it('python read every file', () => {
    expect(r?.stderr ?? '').toBe('');
    expect(Object.keys(py).length).toBe(files.length);
  });
  for (const file of files) {
    it(path.basename(file), () => {
      const ours = inspectFile(file);
      const theirs = py[file]!;
      expect(ours.irVersion).toBe(theirs.irVersion);
      expect(ours.nodeCount).toBe(theirs.nodeCount);
      expect(ours.nodeCountWithSubgraphs).toBe(theirs.nodeCountWithSubgraphs);
      expect(ours.opHistogram).toEqual(theirs.opHistogram);
      expect(ours.opHistogramWithSubgraphs).toEqual(theirs.opHistogramWithSubgraphs);
      expect(ours.parameterCount).toBe(theirs.parameterCount);
      expect(ours.producerName).toBe(theirs.producerName);
      const opsets = theirs.opsets as Record<string, number>;
      if (ours.localFunctions.length === 0) expect(ours.opsets).toEqual(opsets);
      expect(ours.inputs.map((v) => ({ name: v.name, shape: v.shape }))).toEqual(theirs.inputs);
      expect(ours.outputs.map((v) => ({ name: v.name, shape: v.shape }))).toEqual(theirs.outputs);
    });
  }
});

describe('inspect --json from the CLI', () => {
  it('prints one JSON object with the documented keys', () => {
    const r = msgraph(['inspect', committedModels()[0]!, '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    for (const k of ['nodeCount', 'opHistogram', 'inputs', 'outputs', 'opsets', 'irVersion', 'parameterCount', 'exporter', 'modules']) expect(j).toHaveProperty(k);
  });
});
