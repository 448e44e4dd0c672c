// What every run records of its steps for a performance model: dense FLOPs, lookups and distinct rows per input.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createKernels } from '../src/device/registry.ts';
import { Dlrm } from '../src/model/dlrm.ts';
import { Tbsm } from '../src/model/tbsm/tbsm.ts';
import { jaggedOf } from '../src/tensor/jagged.ts';
import { emptyWorkload, WorkloadMeter } from '../src/train/workload.ts';

const kernels = createKernels('typescript');

describe('workload', () => {
  it("dense FLOPs per input: the MLPs' and the interaction's, forward and a backward of twice the cost", () => {
    // bottom 3 -> 4 -> 2, 2 tables of dim 2: 3 features, 3 pairs, interaction width 2 + 3 = 5, top 5 -> 6 -> 1.
    const dlrm = new Dlrm(kernels, { bottomMlp: [3, 4, 2], topMlp: [6, 1], embeddingDim: 2, tableRows: [5, 7], interaction: 'dot' }, 1);
    const forward = 2 * (3 * 4 + 4 * 2) + 2 * (5 * 6 + 6 * 1) + 2 * 3 * 2;
    assert.equal(dlrm.denseFlops(), 3 * forward);
    // TBSM: the tower on each of 5 events, plus the heads (ind: A w; 4 events of scores and context) and the projection.
    const tbsm = new Tbsm(kernels, {
      tower: { bottomMlp: [1, 2], topMlp: [3], embeddingDim: 2, tableRows: [5, 7], interaction: 'dot' }, tsLength: 4, heads: 1, sequential: false,
      project: true, inner: 'ind', mechanism: 'mul', attentionMlp: [], headMlp: [2, 1],
    }, 1);
    const tower = 3 * (2 * 1 * 2 + 2 * 5 * 3 + 2 * 3 * 2), head = 2 * 3 * 3 + 4 * 4 * 3 + 2 * (6 * 2 + 2 * 1);
    assert.equal(tbsm.denseFlops(), 5 * tower + 3 * (head + 3 * 5 * 3));
  });

  it('lookups, distinct rows of the counted batches, and the all-hot batches\' share', () => {
    const meter = new WorkloadMeter(emptyWorkload()), model = new Dlrm(kernels, { bottomMlp: [1, 2], topMlp: [1], embeddingDim: 2, tableRows: [9, 9], interaction: 'dot' }, 1);
    const batch = (ids: number[][], hot = false) => ({ size: ids[0].length, dense: new Float32Array(ids[0].length), labels: new Float32Array(ids[0].length), sparse: jaggedOf(ids[0].length, ids.map((c) => Int32Array.from(c))), hot });
    meter.observe(batch([[1, 1, 2, 1], [3, 4, 3, 3]])); // counted: rows {1, 2} and {3, 4}
    for (let i = 1; i < 16; i++) meter.observe(batch([[5, 6], [7, 8]], i % 2 === 0));
    meter.observe(batch([[0, 0], [0, 0]])); // the 17th: counted
    const w = meter.result(model);
    assert.deepEqual([w.batches, w.inputs, w.lookups, w.countedBatches, w.countedInputs, w.distinctRows], [17, 36, 72, 2, 6, 6]);
    assert.equal(w.lookupsPerInput, 2);
    assert.equal(w.distinctRowsPerInput, 1);
    assert.equal(w.hotBatches, 7);
    assert.equal(w.hotLookupShare, 28 / 72);
    assert.equal(w.denseFlopsPerInput, model.denseFlops());
  });

  it("a run's summary.json holds its workload", () => {
    const root = mkdtempSync(join(tmpdir(), 'hotline-workload-')), bin = new URL('../bin/hotline.mjs', import.meta.url).pathname;
    const r = spawnSync(process.execPath, [bin, 'train', '--data-generation', 'synthetic', '--data-size', '5000', '--max-table-rows', '1000',
      '--arch-mlp-bot', '13-8', '--arch-mlp-top', '8-1', '--arch-sparse-feature-size', '8', '--mini-batch-size', '100', '--policy', 'fae', '--hot-budget', '256KiB', '--run-dir', root], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const [dir] = readdirSync(root), { workload, samples } = JSON.parse(readFileSync(join(root, dir, 'summary.json'), 'utf8'));
    assert.equal(workload.lookupsPerInput, 26);
    assert.equal(workload.inputs, samples);
    assert.ok(workload.distinctRowsPerInput > 0 && workload.distinctRowsPerInput < 26);
    assert.ok(workload.hotLookupShare > 0 && workload.hotLookupShare < 1, `hot lookups ${workload.hotLookupShare}`);
    assert.ok(workload.denseFlopsPerInput > 0);
  });
});
