import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { computeMetrics, rocAuc } from '../src/train/metrics.ts';
import { Rng } from '../src/util/rng.ts';

/** AUC by definition: P(score of a positive > score of a negative) + 0.5 P(tie), over all pairs. */
function bruteForceAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  let wins = 0, pairs = 0;
  for (let i = 0; i < scores.length; i++) {
    if (labels[i] !== 1) continue;
    for (let j = 0; j < scores.length; j++) {
      if (labels[j] !== 0) continue;
      pairs++;
      wins += scores[i] > scores[j] ? 1 : scores[i] === scores[j] ? 0.5 : 0;
    }
  }
  return wins / pairs;
}

describe('metrics', () => {
  it('AUC equals the pairwise definition, with many tied scores', () => {
    const rng = new Rng(20);
    for (let trial = 0; trial < 20; trial++) {
      const n = 50 + rng.int(200);
      const scores = Float64Array.from({ length: n }, () => rng.int(7) / 7); // heavy ties
      const labels = Float64Array.from({ length: n }, () => (rng.next() < 0.3 ? 1 : 0));
      assert.ok(Math.abs(rocAuc(scores, labels) - bruteForceAuc(scores, labels)) < 1e-12);
    }
  });

  it('AUC is 1 for a perfect ranking, 0.5 for constant scores, NaN with one class', () => {
    assert.equal(rocAuc(Float64Array.from([0.1, 0.2, 0.8, 0.9]), [0, 0, 1, 1]), 1);
    assert.equal(rocAuc(Float64Array.from([0.5, 0.5, 0.5]), [0, 1, 0]), 0.5);
    assert.ok(Number.isNaN(rocAuc(Float64Array.from([0.1, 0.2]), [1, 1])));
  });

  it('logloss and accuracy against hand-computed values', () => {
    const m = computeMetrics(Float64Array.from([0.9, 0.2, 0.6, 0.4]), [1, 0, 0, 1]);
    const want = -(Math.log(0.9) + Math.log(0.8) + Math.log(0.4) + Math.log(0.4)) / 4;
    assert.ok(Math.abs(m.logloss - want) < 1e-12);
    assert.equal(m.accuracy, 0.5);
    assert.equal(m.samples, 4);
  });
});
