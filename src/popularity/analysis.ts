/** One profiling pass summarised: skew per table and pooled, and the hot-input share at each budget. */
import type { Dataset } from '../data/dataset.ts';
import { formatBytes } from '../util/bytes.ts';
import { hotInputCurve, type UnseenRows } from './hot-inputs.ts';
import { profileAccesses, rankRows } from './profiler.ts';
import { type SkewStats, skewStats } from './skew.ts';

export interface AccessAnalysis {
  samplingRate: number;
  sampledInputs: number;
  seconds: number;
  bytesPerRow: number;
  tables: SkewStats[];
  pooled: SkewStats;
  /** The rows the sample never saw left out of the hot set (hotline's FAE), and, when asked for, the budget the
   *  ranked rows leave filled as the authors' profiler fills it (hot-inputs.ts). */
  hotShare: { budgetBytes: number; hotShare: number }[];
  hotShareAuthorsFill?: { budgetBytes: number; hotShare: number }[];
}

export const standardBudgets = [1, 4, 16, 64, 256, 1024].map((m) => m * 2 ** 20);

export function analyzeAccesses(
  data: Dataset, bytesPerRow: number, samplingRate: number, seed: number, budgets: number[], tableNames?: string[], withAuthorsFill = false,
): AccessAnalysis {
  const started = process.hrtime.bigint();
  const profile = profileAccesses(data, samplingRate, seed);
  const ranking = rankRows(profile);
  const { tables, pooled } = skewStats(profile, ranking, tableNames);
  const sorted = [...new Set(budgets)].sort((a, b) => a - b), curve = (unseen: UnseenRows) => hotInputCurve(profile, ranking, data, bytesPerRow, sorted, unseen);
  const hotShare = curve('cold'), hotShareAuthorsFill = withAuthorsFill ? curve('authors') : undefined;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { samplingRate, sampledInputs: profile.sampledInputs.length, seconds, bytesPerRow, tables, pooled, hotShare, ...(hotShareAuthorsFill && { hotShareAuthorsFill }) };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

export function formatAnalysis(a: AccessAnalysis): string {
  const lines = [
    `profiled ${a.sampledInputs.toLocaleString('en-US')} sampled inputs (rate ${a.samplingRate}) in ${a.seconds.toFixed(2)} s`,
    'table | rows | lookups | top 1% rows | top 10% rows | rows for 50% / 90% / 99% of lookups',
  ];
  for (const s of [...a.tables, a.pooled]) {
    lines.push(
      `${s.name} | ${s.rows.toLocaleString('en-US')} | ${s.lookups.toLocaleString('en-US')} | ${pct(s.top1)} | ${pct(s.top10)} | ` +
        `${s.rowsFor50.toLocaleString('en-US')} / ${s.rowsFor90.toLocaleString('en-US')} / ${s.rowsFor99.toLocaleString('en-US')}`,
    );
  }
  lines.push(`budget | hot rows | hot inputs (every lookup in the hot set, ${a.bytesPerRow} bytes a row)`);
  for (const p of a.hotShare) {
    lines.push(`${formatBytes(p.budgetBytes)} | ${Math.floor(p.budgetBytes / a.bytesPerRow).toLocaleString('en-US')} | ${pct(p.hotShare)}`);
  }
  return lines.join('\n');
}
