/** Writes an in-memory dataset (the synthetic generator's) as a hotline dataset folder, atomically. */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Encoding, type Manifest, datasetFormat, datasetVersion, sha256OfFile } from './binary-dataset.ts';
import type { Dataset } from './dataset.ts';

export function writeBinaryDataset(data: Dataset, out: string, encoding: Encoding, source: Manifest['source']): Manifest {
  const work = `${out}.partial`;
  mkdirSync(work, { recursive: true });
  const ids = new Int32Array(data.rows * data.categorical.length);
  data.categorical.forEach((c, t) => ids.set(c, t * data.rows));
  const parts = { labels: ['labels.f32', data.labels], dense: ['dense.f32', data.dense], categorical: ['categorical.i32', ids] } as const;
  const files = {} as Manifest['files'];
  for (const [key, [name, array]] of Object.entries(parts)) {
    writeFileSync(join(work, name), new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
    files[key as keyof Manifest['files']] = { path: name, bytes: array.byteLength, sha256: sha256OfFile(join(work, name)) };
  }
  const manifest: Manifest = {
    format: datasetFormat, version: datasetVersion, rows: data.rows, labelName: 'label',
    denseNames: Array.from({ length: data.denseFeatures }, (_, j) => `I${j + 1}`),
    categoricalNames: data.categorical.map((_, t) => `C${t + 1}`), cardinalities: data.tableRows, encoding, denseTransform: 'log1p',
    files, source,
  };
  writeFileSync(join(work, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  renameSync(work, out);
  return manifest;
}
