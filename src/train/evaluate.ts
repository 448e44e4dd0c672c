import { batchesOf, type Dataset } from '../data/dataset.ts';
import type { TableStore } from '../embedding/table-store.ts';
import { sigmoid } from '../model/loss.ts';
import { forwardOn, type Model } from '../model/model.ts';
import { computeMetrics, type Metrics } from './metrics.ts';

/** Predicts every row of data (in storage order) from the home tables and scores the predictions. */
export function evaluate(model: Model, home: TableStore, data: Dataset, batchSize: number): Metrics {
  const tier = home.tier(null, null);
  const probabilities = new Float64Array(data.rows);
  let at = 0;
  for (const batch of batchesOf(data, batchSize, null)) {
    const logits = forwardOn(model, batch, tier);
    for (let i = 0; i < batch.size; i++) probabilities[at++] = sigmoid(logits[i]);
  }
  return computeMetrics(probabilities, data.labels);
}
