import { batchesOf, type Dataset } from '../data/dataset.ts';
import { sigmoid } from '../model/loss.ts';
import type { Dlrm } from '../model/dlrm.ts';
import { computeMetrics, type Metrics } from './metrics.ts';

/** Predicts every row of data (in storage order) and scores the predictions. */
export function evaluate(model: Dlrm, data: Dataset, batchSize: number): Metrics {
  const probabilities = new Float64Array(data.rows);
  let at = 0;
  for (const batch of batchesOf(data, batchSize, null)) {
    const logits = model.forward(batch);
    for (let i = 0; i < batch.size; i++) probabilities[at++] = sigmoid(logits[i]);
  }
  return computeMetrics(probabilities, data.labels);
}
