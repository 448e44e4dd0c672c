/**
 * Writes a hotline dataset folder part by part (the generator's parts, one-hot features): labels and
 * dense features appended, each part's ids at their rows of the column-major ids file, so memory holds one
 * part whatever the size. Work happens in OUT.partial (locked while a process writes it); OUT appears, renamed
 * whole, with its manifest.
 */
import { closeSync, ftruncateSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { sha256OfFileInWorker } from '../util/file-hash.ts';
import { PendingOutput, writeFileAtomic } from '../util/atomic-file.ts';
import { withPath } from '../util/os-error.ts';
import { datasetFiles, datasetFormat, datasetVersion, type Encoding, type Manifest } from './binary-dataset.ts';
import type { Dataset } from './dataset.ts';

/** All of `array` at byte `position` of fd (writeSync may write less than asked). */
export function writeAt(fd: number, array: ArrayBufferView, position: number): void {
  const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
  for (let done = 0; done < bytes.length;) done += writeSync(fd, bytes, done, bytes.length - done, position + done);
}

export class BinaryDatasetWriter {
  private readonly output: PendingOutput;
  private readonly work: string;
  private readonly fds: Record<keyof typeof datasetFiles, number>;
  private written = 0;

  constructor(readonly out: string, readonly rows: number, readonly denseFeatures: number, readonly tables: number) {
    this.output = new PendingOutput(out);
    this.work = this.output.partial;
    rmSync(this.work, { recursive: true, force: true });
    mkdirSync(this.work, { recursive: true });
    this.fds = { labels: openSync(join(this.work, datasetFiles.labels), 'w'), dense: openSync(join(this.work, datasetFiles.dense), 'w'), categorical: openSync(join(this.work, datasetFiles.categorical), 'w') };
    withPath(join(this.work, datasetFiles.categorical), () => ftruncateSync(this.fds.categorical, rows * tables * 4));
  }

  append(part: Dataset): void {
    if (this.written + part.rows > this.rows) throw new Error(`more than the ${this.rows} rows announced`);
    withPath(this.work, () => {
      writeAt(this.fds.labels, part.labels, this.written * 4);
      writeAt(this.fds.dense, part.dense, this.written * this.denseFeatures * 4);
      part.categorical.forEach((column, t) => writeAt(this.fds.categorical, column, (t * this.rows + this.written) * 4));
    });
    this.written += part.rows;
  }

  /** Closes the files, checksums them (in parallel) and renames the folder into place. */
  async finish(meta: { cardinalities: number[]; encoding: Encoding; source: Manifest['source'] }): Promise<Manifest> {
    for (const fd of Object.values(this.fds)) closeSync(fd);
    if (this.written !== this.rows) throw new Error(`${this.written} rows written of the ${this.rows} announced`);
    const sizes = { labels: this.rows * 4, dense: this.rows * this.denseFeatures * 4, categorical: this.rows * this.tables * 4 };
    const entries = await Promise.all((Object.keys(datasetFiles) as (keyof typeof datasetFiles)[]).map(async (key) => {
      const { sha256 } = await sha256OfFileInWorker(join(this.work, datasetFiles[key]));
      return [key, { path: datasetFiles[key], bytes: sizes[key], sha256 }] as const;
    }));
    const manifest: Manifest = {
      format: datasetFormat, version: datasetVersion, rows: this.rows, labelName: 'label',
      denseNames: Array.from({ length: this.denseFeatures }, (_, j) => `I${j + 1}`),
      categoricalNames: Array.from({ length: this.tables }, (_, t) => `C${t + 1}`), cardinalities: meta.cardinalities,
      encoding: meta.encoding, denseTransform: 'log1p', files: Object.fromEntries(entries) as Manifest['files'], source: meta.source,
    };
    writeFileAtomic(join(this.work, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    this.output.commit([...Object.values(datasetFiles), 'manifest.json']);
    return manifest;
  }
}
