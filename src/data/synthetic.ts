/**
 * A skewed, Criteo-like click dataset generated in-process: Zipf-distributed ids per table with the hot
 * ids scattered over the id space, log-normal counts as dense features, and a planted logistic signal
 * (per-id effects on some tables plus dense effects) so a DLRM has something real to learn.
 */
import { streamKey, uniformAt } from '../kernels/counter-hash.ts';
import { Rng } from '../util/rng.ts';
import type { Dataset } from './dataset.ts';

export interface SyntheticSpec {
  rows: number;
  tableRows: number[];
  denseFeatures: number;
  /** Zipf exponent of the id distribution: one for every table, or one per table. */
  zipf: number | number[];
  seed: number;
  /** Hot ids scattered over the id space (default), or the hottest at id 0 onwards. */
  scatter?: boolean;
  /** Which stream of rows: parts of one large set share the seed (same hot ids and effects), not the stream. */
  stream?: number;
}

/** Inverse CDF of a continuous Zipf(s) on [1, n+1) (rank 0 is the hottest), with its constants precomputed. */
function zipfSampler(n: number, s: number): (u: number) => number {
  if (s === 1) return (u) => Math.min(n - 1, Math.floor(Math.pow(n + 1, u)) - 1);
  const span = Math.pow(n + 1, 1 - s) - 1, power = 1 / (1 - s);
  return (u) => Math.min(n - 1, Math.floor(Math.pow(1 + u * span, power)) - 1);
}

/** A bijection of [0, n) that scatters ranks over the id space (multiplier coprime with n). */
function scatter(n: number, seed: number): (rank: number) => number {
  let a = 1_000_003 + (seed % 1000) * 2;
  const gcd = (x: number, y: number): number => (y === 0 ? x : gcd(y, x % y));
  while (gcd(a, n) !== 1) a += 2;
  const shift = seed % n;
  return (rank) => (rank * a + shift) % n;
}

/** The planted effect of an id: a standard normal from a counter-based hash (no state per id). */
function idEffect(key: number, id: number): number {
  const u1 = uniformAt(key, 2 * id) || 1 / 16777216, u2 = uniformAt(key, 2 * id + 1);
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

export function generateSynthetic(spec: SyntheticSpec): Dataset {
  const { rows, tableRows, denseFeatures, seed } = spec;
  const rng = new Rng(seed, 77 + (spec.stream ?? 0) * 7919);
  const tables = tableRows.length;
  const exponents = tableRows.map((_, t) => (Array.isArray(spec.zipf) ? spec.zipf[t] : spec.zipf));
  const samplers = tableRows.map((n, t) => zipfSampler(n, exponents[t]));
  // The signal: a per-id effect on every third table, a linear effect of the first three dense features.
  const signalTables = tableRows.map((_, t) => t % 3 === 0);
  const effectKeys = tableRows.map((_, t) => streamKey(seed, 7919 + t));
  const maps = tableRows.map((n, t) => (spec.scatter === false ? (rank: number) => rank : scatter(n, seed + t)));
  const dense = new Float32Array(rows * denseFeatures);
  const categorical = tableRows.map(() => new Int32Array(rows));
  const labels = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let logit = -1.2;
    for (let j = 0; j < denseFeatures; j++) {
      const count = Math.floor(Math.exp(rng.normal() * 1.2 + 1));
      const v = Math.log1p(count);
      dense[r * denseFeatures + j] = v;
      if (j < 3) logit += (j === 1 ? -0.4 : 0.3) * (v - 1.3);
    }
    for (let t = 0; t < tables; t++) {
      const id = maps[t](samplers[t](rng.next()));
      categorical[t][r] = id;
      if (signalTables[t]) logit += 0.6 * idEffect(effectKeys[t], id);
    }
    labels[r] = rng.next() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
  }
  return { rows, denseFeatures, tableRows: [...tableRows], dense, categorical, labels };
}

/** The n most likely (table, id) pairs of a spec's id distributions over all tables (ground truth for tests). */
export function trueTopRows(spec: SyntheticSpec, n: number): [number, number][] {
  const candidates: { t: number; rank: number; p: number }[] = [];
  spec.tableRows.forEach((rows, t) => {
    const s = Array.isArray(spec.zipf) ? spec.zipf[t] : spec.zipf;
    const cdf = (x: number) => (s === 1 ? Math.log(x) / Math.log(rows + 1) : (Math.pow(x, 1 - s) - 1) / (Math.pow(rows + 1, 1 - s) - 1));
    for (let rank = 0; rank < Math.min(rows, n); rank++) candidates.push({ t, rank, p: cdf(rank + 2) - cdf(rank + 1) });
  });
  candidates.sort((a, b) => b.p - a.p);
  const maps = spec.tableRows.map((rows, t) => (spec.scatter === false ? (rank: number) => rank : scatter(rows, spec.seed + t)));
  return candidates.slice(0, n).map(({ t, rank }) => [t, maps[t](rank)]);
}
