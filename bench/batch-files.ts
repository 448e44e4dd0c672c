/**
 * Batches on disk for the PyTorch reference (bench/torch_dlrm.py): both engines train on the very same
 * rows. meta.json describes the model and splits; each split is dense.f32, indices.i32 (table-major)
 * and labels.f32; init/ optionally holds hotline's initial weights, one float32 file per parameter.
 */
import type { HostTables } from '../src/embedding/tables.ts';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Dataset } from '../src/data/dataset.ts';
import type { DlrmArch } from '../src/model/arch.ts';
import type { Dlrm } from '../src/model/dlrm.ts';

export interface BatchFilesMeta {
  bottomMlp: number[];
  topMlp: number[];
  embeddingDim: number;
  tableRows: number[];
  denseFeatures: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  trainRows: number;
  testRows: number;
}

function bytes(a: Float32Array | Int32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function writeSplit(folder: string, data: Dataset): void {
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'dense.f32'), bytes(data.dense));
  const indices = new Int32Array(data.rows * data.categorical.length);
  data.categorical.forEach((c, t) => indices.set(c, t * data.rows));
  writeFileSync(join(folder, 'indices.i32'), bytes(indices));
  writeFileSync(join(folder, 'labels.f32'), bytes(data.labels));
}

export function writeBatchFiles(
  folder: string, arch: DlrmArch, train: Dataset, test: Dataset | null, batchSize: number, learningRate: number, seed: number,
): BatchFilesMeta {
  const meta: BatchFilesMeta = {
    bottomMlp: arch.bottomMlp, topMlp: arch.topMlp, embeddingDim: arch.embeddingDim, tableRows: arch.tableRows,
    denseFeatures: train.denseFeatures, batchSize, learningRate, seed, trainRows: train.rows, testRows: test?.rows ?? 0,
  };
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'meta.json'), JSON.stringify(meta));
  writeSplit(join(folder, 'train'), train);
  if (test) writeSplit(join(folder, 'test'), test);
  return meta;
}

export function writeInitialWeights(folder: string, model: Dlrm, home: HostTables): void {
  const init = join(folder, 'init');
  mkdirSync(init, { recursive: true });
  for (const p of model.denseParams()) writeFileSync(join(init, `${p.name}.f32`), bytes(p.value));
  home.weights.forEach((w, t) => writeFileSync(join(init, `table.${t}.f32`), bytes(w)));
}

export function readBatchFiles(folder: string): { meta: BatchFilesMeta; train: Dataset } {
  const meta = JSON.parse(readFileSync(join(folder, 'meta.json'), 'utf8')) as BatchFilesMeta;
  const read = (name: string) => readFileSync(join(folder, 'train', name));
  const f32 = (b: Buffer) => new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  const indicesBuffer = read('indices.i32');
  const indices = new Int32Array(indicesBuffer.buffer, indicesBuffer.byteOffset, indicesBuffer.byteLength / 4);
  const rows = meta.trainRows;
  return {
    meta,
    train: {
      rows, denseFeatures: meta.denseFeatures, tableRows: meta.tableRows, dense: f32(read('dense.f32')),
      categorical: meta.tableRows.map((_, t) => indices.subarray(t * rows, (t + 1) * rows)), labels: f32(read('labels.f32')),
    },
  };
}
