/** SHA-256 of files: in the calling thread, or on a worker thread so that hashing overlaps other work. */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
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

// The worker is plain JavaScript (no loader needed in the thread): the same loop as sha256OfFile.
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { closeSync, openSync, readSync } = require('node:fs');
try {
  const hash = createHash('sha256'), fd = openSync(workerData, 'r'), buffer = Buffer.allocUnsafe(1 << 22);
  let bytes = 0;
  try {
    for (let n; (n = readSync(fd, buffer, 0, buffer.length, null)) > 0; bytes += n) hash.update(buffer.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  parentPort.postMessage({ bytes, sha256: hash.digest('hex') });
} catch (error) {
  parentPort.postMessage({ error: error.message });
}
`;

export function sha256OfFileInWorker(path: string): Promise<FileDigest> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(workerSource, { eval: true, workerData: path });
    worker.once('message', (m: FileDigest & { error?: string }) => {
      if (m.error) reject(new Error(`${path}: ${m.error}`));
      else resolve(m);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}
