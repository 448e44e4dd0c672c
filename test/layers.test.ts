// The folder layout is the architecture: imports run one way, from the command line down to the utilities.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, it } from 'node:test';

const src = new URL('../src/', import.meta.url).pathname;
/** Each folder's layer: a module may import its own folder and lower layers only. */
const layer: Record<string, number> = {
  util: 0, tensor: 1, data: 2, io: 3, kernels: 3, device: 4, popularity: 5, embedding: 5, model: 6, optim: 7, pipeline: 8,
  policies: 9, train: 10, checkpoint: 10, report: 10, cli: 11,
};

describe('layers', () => {
  it('every folder of src/ has a layer, and no module imports a higher one', () => {
    const folders = readdirSync(src, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
    assert.deepEqual(folders.filter((f) => !(f in layer)), [], 'folders without a layer');
    const upward: string[] = [];
    for (const file of readdirSync(src, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'))) {
      const from = file.split('/')[0];
      for (const [, target] of readFileSync(join(src, file), 'utf8').matchAll(/from '(\.{1,2}\/[^']+)'/g)) {
        const to = relative(src, normalize(join(dirname(join(src, file)), target))).split('/')[0];
        if (to !== from && layer[to] > layer[from]) upward.push(`${file} imports ${to}`);
      }
    }
    assert.deepEqual(upward, []);
  });
});
