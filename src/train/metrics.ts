/** Exact evaluation metrics over a full set of predictions. */

export interface Metrics {
  /** NaN when the rows are all of one class (the AUC is undefined). */
  auc: number;
  logloss: number;
  accuracy: number;
  samples: number;
  positives: number;
}

/** "AUC 0.7712 logloss 0.4501 accuracy 79.20%", or the reason the AUC is undefined. */
export function formatMetrics(m: Metrics): string {
  const auc = Number.isNaN(m.auc)
    ? `AUC undefined (all ${m.samples.toLocaleString('en-US')} test rows are ${m.positives === 0 ? 'negative' : 'positive'})`
    : `AUC ${m.auc.toFixed(4)}`;
  return `${auc} logloss ${m.logloss.toFixed(4)} accuracy ${(100 * m.accuracy).toFixed(2)}%`;
}

/** ROC AUC by sorting: the Mann-Whitney statistic with tied scores given their average rank. */
export function rocAuc(scores: Float64Array | Float32Array, labels: ArrayLike<number>): number {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let positives = 0, rankSum = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]] === scores[order[i]]) j++;
    const averageRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (labels[order[k]] === 1) {
        positives++;
        rankSum += averageRank;
      }
    }
    i = j + 1;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

export function computeMetrics(probabilities: Float64Array, labels: ArrayLike<number>): Metrics {
  const n = probabilities.length;
  let loss = 0, correct = 0, positives = 0;
  const clip = 1e-7;
  for (let i = 0; i < n; i++) {
    const p = Math.min(Math.max(probabilities[i], clip), 1 - clip), y = labels[i];
    loss -= y * Math.log(p) + (1 - y) * Math.log(1 - p);
    if ((p >= 0.5 ? 1 : 0) === y) correct++;
    positives += y;
  }
  return { auc: rocAuc(probabilities, labels), logloss: loss / n, accuracy: correct / n, samples: n, positives };
}
