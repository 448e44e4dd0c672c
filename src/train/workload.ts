/**
 * What a run's training steps did, in the counts a performance model of a step needs (hotline project): per input,
 * the dense FLOPs and the lookups; per mini-batch, the distinct rows its lookups read (counted on one batch in
 * `everyBatches`); and the share of them in FAE's all-hot mini-batches, which read only the fast tier. Kept in the
 * trainer's state, so a resumed run counts as an uninterrupted one.
 */
import type { Batch } from '../data/batch.ts';
import type { Model } from '../model/model.ts';

export interface WorkloadCounts {
  batches: number;
  inputs: number;
  lookups: number;
  /** Lookups and inputs of the all-hot mini-batches (FAE). */
  hotBatches: number;
  hotLookups: number;
  /** The counted batches, their inputs and their distinct rows (table, row). */
  countedBatches: number;
  countedInputs: number;
  distinctRows: number;
}

export const emptyWorkload = (): WorkloadCounts => ({
  batches: 0, inputs: 0, lookups: 0, hotBatches: 0, hotLookups: 0, countedBatches: 0, countedInputs: 0, distinctRows: 0,
});

/** The counts as rates: the model's dense FLOPs per input, lookups per input, distinct rows per input of a batch. */
export interface Workload extends WorkloadCounts {
  denseFlopsPerInput: number;
  lookupsPerInput: number;
  /** Distinct rows a mini-batch reads, per input (below lookupsPerInput as rows repeat within a batch). */
  distinctRowsPerInput: number;
  hotLookupShare: number;
  embeddingDim: number;
}

const everyBatches = 16;

export class WorkloadMeter {
  constructor(private readonly counts: WorkloadCounts) {}

  observe(batch: Batch): void {
    const c = this.counts, lookups = batch.sparse.ids.length;
    if (c.batches % everyBatches === 0) {
      c.countedBatches++;
      c.countedInputs += batch.size;
      c.distinctRows += distinctRows(batch);
    }
    c.batches++;
    c.inputs += batch.size;
    c.lookups += lookups;
    if (batch.hot) {
      c.hotBatches++;
      c.hotLookups += lookups;
    }
  }

  result(model: Model): Workload {
    const c = this.counts;
    return {
      ...c, denseFlopsPerInput: model.denseFlops(), lookupsPerInput: c.lookups / Math.max(1, c.inputs),
      distinctRowsPerInput: c.distinctRows / Math.max(1, c.countedInputs), hotLookupShare: c.hotLookups / Math.max(1, c.lookups),
      embeddingDim: model.sparse.tables[0]?.dim ?? 0,
    };
  }
}

/** Distinct (table, row) pairs among a batch's lookups. */
function distinctRows(batch: Batch): number {
  const { ids, offsets, tables, bags } = batch.sparse;
  let n = 0;
  for (let t = 0; t < tables; t++) n += new Set(ids.subarray(offsets[t * bags], offsets[(t + 1) * bags])).size;
  return n;
}
