/** Mean binary cross-entropy on logits, the numerically stable form of BCE(sigmoid(z), y). */
export function bceWithLogits(logits: Float32Array, labels: Float32Array, n: number, dLogits: Float32Array): number {
  let total = 0;
  for (let i = 0; i < n; i++) {
    const z = logits[i], y = labels[i];
    total += Math.max(z, 0) - z * y + Math.log1p(Math.exp(-Math.abs(z)));
    dLogits[i] = (sigmoid(z) - y) / n;
  }
  return total / n;
}

export function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}
