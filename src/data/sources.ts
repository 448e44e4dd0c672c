/** Batch sources for the trainer: an in-memory dataset (seeded shuffle per epoch) or dlrm's random generator. */
import type { Batch, BatchSource } from './batch.ts';
import { batchesOf, type Dataset } from './dataset.ts';
import { randomBatch } from './random.ts';
import { Rng } from '../util/rng.ts';

export class DatasetSource implements BatchSource {
  readonly batchesPerEpoch: number;

  constructor(
    readonly data: Dataset, readonly batchSize: number, readonly shuffle: boolean, readonly seed: number, readonly limit: number,
  ) {
    this.batchesPerEpoch = Math.min(Math.ceil(data.rows / batchSize), limit);
  }

  batches(epoch: number, from = 0): Iterable<Batch> {
    const order = this.shuffle ? new Rng(this.seed, 1000 + epoch).permutation(this.data.rows) : null;
    return batchesOf(this.data, this.batchSize, order, this.batchesPerEpoch, from);
  }
}

export class RandomSource implements BatchSource {
  constructor(
    readonly tableRows: number[], readonly denseFeatures: number, readonly batchSize: number,
    readonly batchesPerEpoch: number, readonly seed: number,
  ) {}

  *batches(epoch: number, from = 0): Iterable<Batch> {
    for (let i = from; i < this.batchesPerEpoch; i++) {
      yield randomBatch(this.tableRows, this.denseFeatures, this.batchSize, this.seed, epoch * this.batchesPerEpoch + i);
    }
  }
}
