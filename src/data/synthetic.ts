/**
 * A skewed, Criteo-like click dataset generated in-process: Zipf-distributed ids per table with the hot
 * ids scattered over the id space, log-normal counts as dense features, and a planted logistic signal
 * (per-id effects on some tables plus dense effects) so a DLRM has something real to learn.
 */
import { streamKey, uniformAt } from '../util/counter-hash.ts';
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

/**
 * Per table, the constants of the inverse CDF of a continuous Zipf(s) on [1, n+1) (rank 0 is the hottest) and of
 * the bijection that scatters ranks over the id space (multiplier coprime with n); kept in typed arrays so the
 * row loop computes every table's id inline (no per-table closures: one call site per table would not inline).
 */
interface IdMaps {
  rows: Float64Array;
  /** s = 1: log-uniform over log(n+1); otherwise span = (n+1)^(1-s) - 1 and power = 1 / (1 - s). */
  logUniform: Uint8Array;
  logRows: Float64Array;
  span: Float64Array;
  power: Float64Array;
  multiplier: Float64Array;
  shift: Float64Array;
}

function idMaps(tableRows: number[], exponents: number[], seed: number, scattered: boolean): IdMaps {
  const k = tableRows.length;
  const m: IdMaps = {
    rows: Float64Array.from(tableRows), logUniform: new Uint8Array(k), logRows: Float64Array.from(tableRows, (n) => Math.log(n + 1)),
    span: new Float64Array(k), power: new Float64Array(k),
    multiplier: new Float64Array(k).fill(1), shift: new Float64Array(k),
  };
  const gcd = (x: number, y: number): number => (y === 0 ? x : gcd(y, x % y));
  tableRows.forEach((n, t) => {
    const s = exponents[t];
    m.logUniform[t] = s === 1 ? 1 : 0;
    m.span[t] = Math.pow(n + 1, 1 - s) - 1;
    m.power[t] = 1 / (1 - s);
    if (!scattered) return;
    let a = 1_000_003 + ((seed + t) % 1000) * 2;
    while (gcd(a, n) !== 1) a += 2;
    m.multiplier[t] = a;
    m.shift[t] = (seed + t) % n;
  });
  return m;
}

/** The id of table t at uniform u: the Zipf rank, scattered. */
function idAt(m: IdMaps, t: number, u: number): number {
  const n = m.rows[t];
  // x^p as exp(p log x): a third of Math.pow's time in V8, the same value to the last bit or two.
  const inverse = m.logUniform[t] === 1 ? Math.exp(u * m.logRows[t]) : Math.exp(m.power[t] * Math.log(1 + u * m.span[t]));
  const rank = Math.min(n - 1, Math.floor(inverse) - 1);
  // (rank * a + shift) mod n without %, which on doubles is a call to fmod: the product is below 2^53, so the
  // quotient's floor is exact up to one step, which the two corrections take back.
  const scattered = rank * m.multiplier[t] + m.shift[t], r = scattered - Math.floor(scattered / n) * n;
  return r < 0 ? r + n : r >= n ? r - n : r;
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
  const maps = idMaps(tableRows, exponents, seed, spec.scatter !== false);
  // The signal: a per-id effect on every third table, a linear effect of the first three dense features.
  const effectKeys = Float64Array.from(tableRows, (_, t) => streamKey(seed, 7919 + t));
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
      const id = idAt(maps, t, rng.next());
      categorical[t][r] = id;
      if (t % 3 === 0) logit += 0.6 * idEffect(effectKeys[t], id);
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
  const maps = idMaps(spec.tableRows, spec.tableRows.map(() => 1), spec.seed, spec.scatter !== false);
  return candidates.slice(0, n).map(({ t, rank }) => [t, (rank * maps.multiplier[t] + maps.shift[t]) % maps.rows[t]]);
}
