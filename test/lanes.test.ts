// Lanes: FIFO per lane on both backends, lanes independent of each other, the oracle's lazy in-order runs, and
// the job timing shape ({startNs, endNs, count} on the lane's clock).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import type { Lane, LaneJob } from '../src/io/lane.ts';
import type { Bags, Kernels, SlotLayout, SparseUpdate } from '../src/kernels/kernels.ts';
import { loadAddon, NativeKernels } from '../src/kernels/native.ts';
import { TypeScriptKernels } from '../src/kernels/typescript.ts';

const addon = loadAddon();
const backends: [string, Kernels | null][] = [
  ['native', addon instanceof Error ? null : new NativeKernels(addon)],
  ['typescript', new TypeScriptKernels()],
];
const dir = mkdtempSync(join(tmpdir(), 'hotline-lanes-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// One table of 4 rows x dim 2; one bag that reads row 1.
const layout: SlotLayout = { bags: 1, dim: 2, stride: 2, slot0: 0 };
const rowOne: Bags = { indices: [Int32Array.of(1)], offsets: [Int32Array.of(0, 1)] };
/** SGD with lr 1 and a gradient of -1: each update adds 1 to row 1. */
const addOne: SparseUpdate = { optimizer: 'sgd', lr: 1, eps: 0, states: null };
const minusOne = Float32Array.of(-1, -1);

/** Asserts the jobs ran one after another, in the order given. */
function assertInOrder(jobs: LaneJob[]): void {
  for (let i = 0; i < jobs.length; i++) {
    assert.ok(jobs[i].startNs <= jobs[i].endNs, `job ${i} ends before it starts`);
    if (i > 0) assert.ok(jobs[i - 1].endNs <= jobs[i].startNs, `job ${i} started before job ${i - 1} ended`);
  }
}

for (const [backend, kernels] of backends) {
  describe(`${backend} lanes`, { skip: kernels ? false : 'native addon not built' }, () => {
    it('run a lane\'s jobs in submission order: each gather sees exactly the updates queued before it', () => {
      const lane = kernels!.lane('fifo');
      const table = new Float32Array(4 * 2), steps = 40;
      const outs = Array.from({ length: steps }, () => new Float32Array(2)), jobs: number[] = [];
      for (let k = 0; k < steps; k++) {
        jobs.push(lane.gather([table], rowOne, layout, outs[k]));
        jobs.push(lane.update([table], rowOne, layout, minusOne, addOne));
      }
      const last = lane.wait(jobs[jobs.length - 1]); // FIFO: every job before it has run
      assert.deepEqual(Array.from(table.subarray(2, 4)), [steps, steps]);
      outs.forEach((out, k) => assert.deepEqual(Array.from(out), [k, k], `gather ${k}`));
      assertInOrder([...jobs.slice(0, -1).map((job) => lane.wait(job)), last]);
    });

    it('one lane per name, job ids unique across lanes, and a job waited for once on its own lane', () => {
      const a = kernels!.lane('ids'), again = kernels!.lane('ids'), other = kernels!.lane('ids-other');
      const out = new Float32Array(2), table = new Float32Array(8);
      const first = a.gather([table], rowOne, layout, out), second = again.gather([table], rowOne, layout, out);
      const elsewhere = other.gather([table], rowOne, layout, out);
      assert.equal(second, first + 1, 'the same lane numbers both handles\' jobs');
      assert.notEqual(elsewhere, first);
      assert.throws(() => other.wait(first), { message: new RegExp(`lane 'ids-other' has no job ${first}$`) });
      assert.throws(() => a.wait(second + 1000), { message: /lane 'ids' has no job/ });
      a.wait(second);
      again.wait(first);
      assert.throws(() => a.wait(first), { message: new RegExp(`job ${first} of lane 'ids' was already waited for$`) });
      other.wait(elsewhere);
    });

    it('time each job on the lane\'s clock, no earlier than its submission; counts bags refetched and bytes read', () => {
      const lane = kernels!.lane('timing'), path = join(dir, `${backend}-bytes`);
      writeFileSync(path, Uint8Array.from({ length: 100 }, (_, i) => i));
      const table = Float32Array.from({ length: 8 }, (_, i) => i), out = new Float32Array(2), target = new Uint8Array(10);
      const submitted = lane.now();
      const jobs = [
        lane.gather([table], rowOne, layout, out),
        lane.refetch([table], rowOne, layout, out, [Int32Array.of(1)]),
        lane.refetch([table], rowOne, layout, out, [Int32Array.of(0, 3)]),
        lane.read(path, 95, target),
        lane.read(join(dir, 'missing'), 0, target),
      ].map((job) => lane.wait(job));
      const waited = lane.now();
      assert.ok(submitted <= jobs[0].startNs && jobs[jobs.length - 1].endNs <= waited);
      assertInOrder(jobs);
      assert.deepEqual(jobs.map((j) => j.count), [0, 1, 0, 5, -1], 'refetched bags; bytes read (5 at the end of file, -1 without a file)');
      assert.deepEqual(Array.from(target.subarray(0, 5)), [95, 96, 97, 98, 99]);
      assert.deepEqual(Array.from(out), [2, 3]);
    });
  });
}

describe('independent lanes', () => {
  const gatherDuring = (lane: Lane) => {
    const out = new Float32Array(2);
    return lane.wait(lane.gather([Float32Array.of(0, 0, 5, 6)], rowOne, layout, out));
  };

  it('native: a gather on the host lane runs while a read holds the loader lane', { skip: backends[0][1] ? false : 'native addon not built' }, async () => {
    const kernels = backends[0][1]!, fifo = join(dir, 'held-read');
    execFileSync('mkfifo', [fifo]);
    // Opening a FIFO to read blocks until a writer opens it: the loader lane's read cannot end before the worker
    // opens it, once the gather is back (or after 5 s, so lanes that are not independent fail instead of hanging).
    const read = kernels.lane('loader').read(fifo, 0, new Uint8Array(16));
    const gatherBack = new Int32Array(new SharedArrayBuffer(4));
    const releaser = new Worker(
      `const { workerData: { fifo, gatherBack } } = require('node:worker_threads');
       const { closeSync, openSync } = require('node:fs');
       Atomics.wait(gatherBack, 0, 0, 5000);
       closeSync(openSync(fifo, 'w'));`,
      { eval: true, workerData: { fifo, gatherBack } },
    );
    const gather = gatherDuring(kernels.lane('host'));
    Atomics.store(gatherBack, 0, 1);
    Atomics.notify(gatherBack, 0);
    const held = kernels.lane('loader').wait(read);
    await once(releaser, 'exit');
    assert.ok(gather.startNs < held.endNs && gather.endNs < held.endNs, 'the gather ran before the read ended');
  });

  it('typescript: waiting for a host job runs none of the loader lane\'s', () => {
    const kernels = backends[1][1]!, path = join(dir, 'ts-read');
    writeFileSync(path, Uint8Array.of(7, 7, 7, 7));
    const target = new Uint8Array(4), loader = kernels.lane('loader');
    const read = loader.read(path, 0, target);
    const gather = gatherDuring(kernels.lane('host'));
    assert.deepEqual(Array.from(target), [0, 0, 0, 0], 'the read has not run');
    const done = loader.wait(read);
    assert.deepEqual(Array.from(target), [7, 7, 7, 7]);
    assert.ok(gather.endNs <= done.startNs);
  });
});

describe('the TypeScript oracle lane', () => {
  it('runs a job only when it or a later job of its lane is waited for, after every job queued before it', () => {
    const lane = new TypeScriptKernels().lane('lazy');
    const table = new Float32Array(8), out = new Float32Array(2);
    table[2] = 3;
    const gather = lane.gather([table], rowOne, layout, out);
    const update = lane.update([table], rowOne, layout, minusOne, addOne);
    const laterOut = new Float32Array(2), later = lane.gather([table], rowOne, layout, laterOut);
    assert.deepEqual(Array.from(out), [0, 0], 'not run at submission');
    assert.equal(table[2], 3, 'not run at submission');
    const updated = lane.wait(update);
    assert.deepEqual(Array.from(out), [3, 0], 'the gather queued first ran first');
    assert.equal(table[2], 4);
    assert.deepEqual(Array.from(laterOut), [0, 0], 'a job queued after the one waited for has not run');
    assertInOrder([lane.wait(gather), updated, lane.wait(later)]);
    assert.deepEqual(Array.from(laterOut), [4, 1]);
  });
});
