/**
 * What identifies the data a run trains on, recorded at its start and compared on resume, so a run never continues
 * on other data: a dataset folder by its manifest (rows, columns, cardinalities, the files' sizes and SHA-256; resume
 * also verifies the files against it), a raw file (read whole anyway) by its own SHA-256.
 */
import { createHash } from 'node:crypto';
import { readManifest } from './binary-dataset.ts';
import { sha256OfFile } from '../util/file-hash.ts';

export interface DataFingerprint {
  path: string;
  /** What was compared, for a message. */
  summary: string;
  sha256: string;
}

export function datasetFingerprint(dir: string): DataFingerprint {
  const m = readManifest(dir);
  const identity = { rows: m.rows, dense: m.denseNames, categorical: m.categoricalNames, cardinalities: m.cardinalities, files: m.files, bags: m.bags ?? null };
  const sha256 = createHash('sha256').update(JSON.stringify(identity)).digest('hex');
  return { path: dir, summary: `${m.rows.toLocaleString('en-US')} rows, manifest ${sha256.slice(0, 16)}`, sha256 };
}

export function fileFingerprint(path: string): DataFingerprint {
  const { bytes, sha256 } = sha256OfFile(path);
  return { path, summary: `${bytes.toLocaleString('en-US')} bytes, SHA-256 ${sha256.slice(0, 16)}`, sha256 };
}
