// The SSD tier against the memory tier: the same initial rows as HostTables, and the same bits after pools, SGD and
// row-wise Adagrad updates of multi-hot batches (duplicates, empty bags) and row copies, on every I/O engine; batches
// read ahead pool what a read in step would; the undo logs roll the files back to a checkpoint.
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { LruCache } from '../src/embedding/lru-cache.ts';
import { SsdTables } from '../src/embedding/ssd-tables.ts';
import { SsdTier } from '../src/embedding/ssd-tier.ts';
import { UndoLogError } from '../src/io/undo-log.ts';
import { HostTables, tableConfigs } from '../src/embedding/tables.ts';
import { type EmbeddingTier, MemoryTier } from '../src/embedding/tier.ts';
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
        const readAll = (tier: EmbeddingTier) => rows.map((n, t) => {
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

describe('ssd tier: read-ahead and the undo log', { skip }, () => {
  const kernels = createKernels('auto'), dim = 16, rows = [2000, 700, 3], tables = tableConfigs(rows, dim);
  const layout = { bags: 64, dim, stride: (rows.length + 1) * dim, slot0: dim }, rule = { optimizer: 'rowwise-adagrad' as const, lr: 0.1, eps: 1e-8 };
  const state = { initial: 0.1 }, io = { engine: 'threads' as const, queueDepth: 16 };
  /** One-hot batches drawn from a few hundred rows, so consecutive batches share blocks. */
  const batch = (rng: Rng) => ({
    tables: rows.length, bags: layout.bags, offsets: Int32Array.from({ length: rows.length * layout.bags + 1 }, (_, i) => i),
    ids: Int32Array.from({ length: rows.length * layout.bags }, (_, i) => rng.int(Math.min(rows[Math.floor(i / layout.bags)], 300))),
  });
  const readAll = (tier: EmbeddingTier) => rows.map((n, t) => {
    const into = new Float32Array(n * dim), s = new Float32Array(n);
    tier.readRows(new Int32Array(n).fill(t), Int32Array.from({ length: n }, (_, r) => r), into, s);
    return [into, s];
  });
  const train = (tier: EmbeddingTier, ids: ReturnType<typeof batch>, rng: Rng) => {
    const out = new Float32Array(layout.bags * layout.stride);
    tier.pool(ids, layout, out);
    const grad = randomArray(rng, out.length);
    tier.update(ids, layout, () => grad, rule);
    return out;
  };

  it('pools batches read two ahead as if read in step: updated blocks are forwarded into the reads ahead', () => {
    const home = new HostTables(kernels, tables, 3), memory = new MemoryTier('host', kernels, home.weights, home.rowWiseStates(state.initial), dim);
    const ssd = SsdTier.create(mkdtempSync(join(tmpdir(), 'hotline-ssd-')), kernels, tables, 3, state, io);
    const rng = new Rng(9, 2), batches = Array.from({ length: 10 }, () => batch(rng));
    ssd.prefetch(batches[0]);
    ssd.prefetch(batches[1]);
    batches.forEach((ids, i) => {
      if (i + 2 < batches.length) ssd.prefetch(batches[i + 2]);
      const a = train(memory, ids, new Rng(i, 3)), b = train(ssd, ids, new Rng(i, 3));
      assert.deepEqual(b, a, `pooled, batch ${i}`);
    });
    assert.equal(ssd.stats.prefetchHits, batches.length);
    assert.ok(ssd.stats.forwardedBlocks > 0, 'later batches read blocks that earlier updates wrote');
    // A batch read ahead for other ids is dropped, and the batch read as asked.
    ssd.prefetch(batch(rng));
    const other = batch(rng);
    assert.deepEqual(train(ssd, other, new Rng(99, 3)), train(memory, other, new Rng(99, 3)));
    assert.equal(ssd.stats.prefetchMisses, 1);
    assert.deepEqual(readAll(ssd), readAll(memory), 'rows after training');
    ssd.release();
  });

  it('an lru cache in front of the ssd trains as the memory tier does, reading misses ahead and writing evicted rows back', () => {
    const home = new HostTables(kernels, tables, 5), memory = new MemoryTier('host', kernels, home.weights, home.rowWiseStates(state.initial), dim);
    const ssd = SsdTier.create(mkdtempSync(join(tmpdir(), 'hotline-ssd-')), kernels, tables, 5, state, io), cache = new LruCache(kernels, ssd, 400, true);
    const rng = new Rng(11, 2), batches = Array.from({ length: 12 }, () => batch(rng));
    for (const depth of [0, 2]) {
      for (let i = 0; i < depth; i++) cache.prefetch(batches[i]);
      batches.forEach((ids, i) => {
        if (depth > 0 && i + depth < batches.length) cache.prefetch(batches[i + depth]);
        assert.deepEqual(train(cache, ids, new Rng(i, 5)), train(memory, ids, new Rng(i, 5)), `pooled, batch ${i}, read-ahead ${depth}`);
      });
    }
    const { hits, misses, evictions, writeBacks } = cache.stats;
    assert.ok(hits > 0 && misses > 0 && evictions > 0 && writeBacks > 0, JSON.stringify(cache.stats));
    assert.deepEqual(readAll(cache), readAll(memory), 'rows through the cache');
    cache.flush();
    assert.deepEqual(readAll(ssd), readAll(memory), 'rows on the ssd once the cache is flushed');
    assert.throws(() => new LruCache(kernels, ssd, 50, true).pool(batches[0], layout, new Float32Array(layout.bags * layout.stride)), /distinct rows, more than the lru cache's 50: raise --host-budget/);
    ssd.release();
  });

  it('rolls the files back to any kept checkpoint through the undo logs, newest first, and names a damaged log', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hotline-ssd-store-'));
    const store = SsdTables.create({ dir, readAhead: 0, hostBudget: 0, hostCache: "placed", io }, kernels, tables, 4, state), tier = store.tier(), rng = new Rng(4, 4);
    const steps = (n: number) => { for (let i = 0; i < n; i++) train(tier, batch(rng), rng); };
    steps(3);
    store.beginCheckpoint(3);
    const at3 = readAll(tier);
    steps(3);
    store.beginCheckpoint(6);
    const at6 = readAll(tier);
    steps(3);
    assert.notDeepEqual(readAll(tier), at6, 'training moved the rows');
    store.rollBack(6);
    assert.deepEqual(readAll(tier), at6, 'back at step 6');
    steps(2);
    appendFileSync(join(dir, 'undo-0000000006.log'), Buffer.alloc(100, 7)); // a record torn by a kill is ignored
    store.rollBack(6);
    assert.deepEqual(readAll(tier), at6, 'back at step 6 again (the log restarted)');
    steps(2);
    store.rollBack(3);
    assert.deepEqual(readAll(tier), at3, 'back at step 3 through both logs');
    assert.throws(() => store.rollBack(6), /undo-0000000006\.log: missing/);
    steps(2);
    const log = join(dir, 'undo-0000000003.log'), bytes = readFileSync(log);
    bytes[20] ^= 1;
    writeFileSync(log, bytes);
    assert.throws(() => store.rollBack(3), (e: Error) => e instanceof UndoLogError && e.message === `${log}: record 0 is damaged (bad header or checksum)`);
    store.endCheckpoint(4);
    assert.ok(!existsSync(log), 'logs older than the oldest kept checkpoint go');
    store.release();
    assert.throws(() => SsdTables.create({ dir, readAhead: 0, hostBudget: 0, hostCache: "placed", io }, kernels, tables, 4, state), /holds another run's tables/);
    assert.throws(() => SsdTables.open({ dir, readAhead: 0, hostBudget: 0, hostCache: "placed", io }, kernels, tables, false), /has row-wise optimizer state, the run's optimizer keeps none/);
    assert.throws(() => SsdTables.open({ dir, readAhead: 0, hostBudget: 0, hostCache: "placed", io }, kernels, tableConfigs([5], dim), true), /tables of \[rows, dim\]/);
  });
});
