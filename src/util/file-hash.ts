/** SHA-256 of files: in the calling thread, or on a worker thread so that hashing overlaps other work. */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

export interface FileDigest {
  bytes: number;
  sha256: string;
}

export function sha256OfFile(path: string): FileDigest {
  const hash = createHash('sha256'), fd = openSync(path, 'r'), buffer = Buffer.allocUnsafe(1 << 22);
  let bytes = 0;
  try {
    for (let n; (n = readSync(fd, buffer, 0, buffer.length, null)) > 0; bytes += n) hash.update(buffer.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return { bytes, sha256: hash.digest('hex') };
}

/** SHA-256 of a whole file on a worker thread. */
export function sha256OfFileInWorker(path: string): Promise<FileDigest> {
  const hash = new IncrementalFileHash(path);
  hash.upTo(statSync(path).size);
  return hash.finish();
}

// The worker is plain JavaScript, so the thread needs no loader.
const incrementalSource = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { closeSync, openSync, readSync } = require('node:fs');
const hash = createHash('sha256'), fd = openSync(workerData, 'r'), buffer = Buffer.allocUnsafe(1 << 22);
let hashed = 0;
parentPort.on('message', (upTo) => {
  try {
    if (upTo < 0) {
      closeSync(fd);
      parentPort.postMessage({ bytes: hashed, sha256: hash.digest('hex') });
      return;
    }
    while (hashed < upTo) {
      const n = readSync(fd, buffer, 0, Math.min(buffer.length, upTo - hashed), hashed);
      if (n === 0) throw new Error('the file ends at byte ' + hashed + ', before ' + upTo);
      hash.update(buffer.subarray(0, n));
      hashed += n;
    }
  } catch (error) {
    parentPort.postMessage({ error: error.message });
  }
});
`;

/** SHA-256 of a file written front to back: a worker hashes each prefix announced with upTo while the writer goes on. */
export class IncrementalFileHash {
  private readonly worker: Worker;
  private readonly result: Promise<FileDigest>;

  constructor(readonly path: string) {
    this.worker = new Worker(incrementalSource, { eval: true, workerData: path });
    this.result = new Promise((resolve, reject) => {
      this.worker.on('message', (m: FileDigest & { error?: string }) => (m.error ? reject(new Error(`${path}: ${m.error}`)) : resolve(m)));
      this.worker.once('error', reject);
    });
  }

  /** The file's first `bytes` bytes are final. */
  upTo(bytes: number): void {
    this.worker.postMessage(bytes);
  }

  finish(): Promise<FileDigest> {
    this.worker.postMessage(-1);
    return this.result.finally(() => void this.worker.terminate());
  }
}
