// The SSD tier against the memory tier: the same initial rows as HostTables, and the same bits after pools, SGD and
// row-wise Adagrad updates of multi-hot batches (duplicates, empty bags) and row copies, on every I/O engine.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SsdTier } from '../src/embedding/ssd-tier.ts';
import { HostTables, tableConfigs } from '../src/embedding/tables.ts';
import { MemoryTier } from '../src/embedding/tier.ts';
import { ioEngines } from '../src/io/block-file.ts';
import { createKernels } from '../src/device/registry.ts';
import { loadAddon } from '../src/kernels/native.ts';
import { Rng } from '../src/util/rng.ts';
import { randomArray } from './helpers.ts';

const skip = loadAddon() instanceof Error ? 'the native addon is not built (block I/O is native)' : false;

describe('ssd tier', { skip }, () => {
  const kernels = createKernels('auto'), dim = 8, rows = [300, 1000, 5, 129], tables = tableConfigs(rows, dim);
  const layout = { bags: 40, dim, stride: (rows.length + 1) * dim, slot0: dim };

  /** A multi-hot batch: 0 to 3 lookups a bag, repeats frequent. */
  const batch = (rng: Rng) => {
    const offsets = new Int32Array(rows.length * layout.bags + 1), ids: number[] = [];
    for (let b = 0; b < rows.length * layout.bags; b++) {
      const t = Math.floor(b / layout.bags);
      for (let k = rng.int(4); k > 0; k--) ids.push(rng.int(Math.min(rows[t], 40)) * Math.floor(rows[t] / Math.min(rows[t], 40)));
      offsets[b + 1] = ids.length;
    }
    return { tables: rows.length, bags: layout.bags, ids: Int32Array.from(ids), offsets };
  };

  for (const engine of ioEngines()) {
    for (const optimizer of ['sgd', 'rowwise-adagrad'] as const) {
      it(`starts as HostTables and trains as the memory tier does, bit for bit (${optimizer}, ${engine})`, () => {
        const state = optimizer === 'sgd' ? null : { initial: 0.1 }, rng = new Rng(5, 1);
        const home = new HostTables(kernels, tables, 7), memory = new MemoryTier('host', kernels, home.weights, state && home.rowWiseStates(state.initial), dim);
        const ssd = SsdTier.create(mkdtempSync(join(tmpdir(), 'hotline-ssd-')), kernels, tables, 7, state, { engine, queueDepth: 8 });
        const every = (t: number) => Int32Array.from({ length: rows[t] }, (_, r) => r);
        const readAll = (tier: MemoryTier | SsdTier) => rows.map((n, t) => {
          const into = new Float32Array(n * dim), s = state ? new Float32Array(n) : null;
          tier.readRows(new Int32Array(n).fill(t), every(t), into, s);
          return [into, s];
        });
        assert.deepEqual(readAll(ssd), readAll(memory), 'initial rows');
        for (let step = 0; step < 6; step++) {
          const ids = batch(rng), a = new Float32Array(layout.bags * layout.stride), b = a.slice();
          memory.pool(ids, layout, a);
          ssd.pool(ids, layout, b);
          assert.deepEqual(b, a, `pooled, step ${step}`);
          const grad = randomArray(rng, a.length), rule = { optimizer, lr: 0.2, eps: 1e-8 };
          memory.update(ids, layout, () => grad, rule);
          ssd.update(ids, layout, () => grad, rule);
        }
        const trained = readAll(memory);
        assert.notDeepEqual(trained[1][0], new HostTables(kernels, tables, 7).weights[1], 'training moved the rows');
        assert.deepEqual(readAll(ssd), trained, 'rows after training');
        // Row copies: a tier sync's writes land where reads find them, the rest untouched.
        const which = Int32Array.of(1, 1, 3, 0), at = Int32Array.of(999, 0, 128, 17), values = randomArray(rng, 4 * dim), s = state && Float32Array.of(1, 2, 3, 4);
        ssd.writeRows(which, at, values, s);
        memory.writeRows(which, at, values, s);
        assert.deepEqual(readAll(ssd), readAll(memory), 'rows after writeRows');
        // Rows read and written between a batch's pool and its update: the update starts from the rows as written.
        const rule = { optimizer, lr: 0.2, eps: 1e-8 };
        for (const between of ['readRows', 'writeRows'] as const) {
          const ids = batch(rng), grad = randomArray(rng, layout.bags * layout.stride);
          for (const tier of [memory, ssd]) {
            tier.pool(ids, layout, new Float32Array(grad.length));
            if (between === 'readRows') tier.readRows(which, at, new Float32Array(4 * dim), s && new Float32Array(4));
            else tier.writeRows(Int32Array.of(1), Int32Array.of(ids.ids[ids.offsets[layout.bags]]), values.subarray(0, dim), s && s.subarray(0, 1));
            tier.update(ids, layout, () => grad, rule);
          }
          assert.deepEqual(readAll(ssd), readAll(memory), `rows after a pool, ${between} and the update`);
        }
        ssd.release();
      });
    }
  }

  it('refuses rows outside a table and a dimension that does not divide a block, naming them', () => {
    const ssd = SsdTier.create(mkdtempSync(join(tmpdir(), 'hotline-ssd-')), kernels, tables, 1, null, { engine: 'threads', queueDepth: 4 });
    assert.throws(() => ssd.readRows(Int32Array.of(2), Int32Array.of(5), new Float32Array(dim), null), /row 5 is outside table 2's 5 rows/);
    assert.throws(() => ssd.readRows(Int32Array.of(0), Int32Array.of(0), new Float32Array(dim), new Float32Array(1)), /without optimizer state/);
    ssd.release();
    assert.throws(() => SsdTier.create(mkdtempSync(join(tmpdir(), 'hotline-ssd-')), kernels, tableConfigs([10], 12), 1, null, { engine: 'threads', queueDepth: 4 }),
      /power-of-two dimension up to 1024, not 12/);
  });
});
