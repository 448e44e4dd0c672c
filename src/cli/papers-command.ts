/**
 * `hotline papers [DATASET] [--rows N] [--out DIR] [--threads N]`: the papers' observations reproduced on the data at
 * hand (a dataset folder's training split, or the built-in skewed Criteo-like set), each beside the paper's figure:
 * access skew, FAE's hot-input share (at the tutorial's settings, and as data and budget grow), Hotline's popular
 * share and hidden gather, Slipstream's stale share and threshold, and every policy's test AUC against the baseline.
 * Writes papers.json and a report page of plots into a run directory.
 */
import { Writable } from 'node:stream';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sliceRows } from '../data/dataset.ts';
import { bytesPerRow } from '../embedding/planner.ts';
import { analyzeAccesses, type AccessAnalysis } from '../popularity/analysis.ts';
import { papersPage, type PapersResult, type PolicyRun } from '../report/papers.ts';
import { RunDir } from '../train/run-dir.ts';
import { formatBytes } from '../util/bytes.ts';
import { UsageError } from './options.ts';
import { loadSplits, tableNames } from './prepare-data.ts';
import { runTraining } from './train-command.ts';
import { trainConfigFrom } from './train-config.ts';

/** The tutorial's FAE profiling run: a 100,001-input Kaggle subset, 512 MB, 10% sampled (44.4% hot). */
const tutorial = { inputs: 100_001, budgetBytes: 512 * 2 ** 20, samplingRate: 0.1, hotShare: 0.444 };
/** Kaggle's training inputs (6/7 of its 45,840,617 rows), for the stated extrapolation of the skew. */
const kaggleInputs = Math.round((45_840_617 * 6) / 7);
/** FAE's default budget over the Kaggle tables it was set for (256 MiB of 2.16 GB of rows at dim 16): the share of
 *  the tables the fast tier holds in the training runs here. */
const faeBudgetShare = (256 * 2 ** 20) / (33_762_577 * 16 * 4);
const policies = ['baseline', 'fae', 'hotline', 'slipstream', 'hotline+slipstream'] as const;

/** Output of a training run we do not show (its lines would bury the comparison). */
function silent(): NodeJS.WriteStream {
  return Object.assign(new Writable({ write: (_chunk, _encoding, done) => done() }), { isTTY: false }) as unknown as NodeJS.WriteStream;
}

export async function runPapers(argv: string[], out: NodeJS.WriteStream = process.stdout): Promise<PapersResult> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: { rows: { type: 'string', default: '300000' }, out: { type: 'string' }, threads: { type: 'string', default: '2' }, seed: { type: 'string', default: '123' } },
  });
  if (positionals.length > 1) throw new UsageError('usage: hotline papers [DATASET] [--rows N] [--out DIR] [--threads N] [--seed N]');
  const dataset = positionals[0];
  if (dataset && !existsSync(join(dataset, 'manifest.json'))) throw new UsageError(`${dataset}: not a hotline dataset folder (no manifest.json)`);
  const data = dataset ? ['--dataset', dataset] : ['--data-generation', 'synthetic', '--data-size', values.rows!, '--test-fraction', '0.1'];
  const common = [...data, '--threads', values.threads!, '--seed', values.seed!, '--mini-batch-size', '256', '--learning-rate', '0.1', '--run-dir', ''];
  const config = trainConfigFrom(common), names = tableNames(config);
  const { train } = loadSplits(config);
  const rowBytes = bytesPerRow(config.arch.embeddingDim, 0), tableBytes = train.tableRows.reduce((a, b) => a + b, 0) * rowBytes;
  const say = (line: string) => out.write(`${line}\n`);
  say(`papers: ${dataset ?? `the synthetic Criteo-like set (${Number(values.rows).toLocaleString('en-US')} rows, Kaggle's cardinalities)`}, ${train.rows.toLocaleString('en-US')} training inputs`);

  // FAE's profile at the tutorial's settings, on the tutorial's number of inputs (or all there are), and as the data grows.
  const analyze = (rows: number, budgets: number[]): AccessAnalysis =>
    analyzeAccesses(sliceRows(train, 0, Math.min(rows, train.rows)), rowBytes, tutorial.samplingRate, config.seed, budgets, names, true);
  const budgets = [16, 64, 256, 512, 1024, 4096].map((m) => m * 2 ** 20);
  const atTutorial = analyze(tutorial.inputs, budgets);
  const sizes = [0.125, 0.25, 0.5, 1].map((f) => Math.max(1000, Math.round(f * train.rows))).filter((n, i, a) => a.indexOf(n) === i);
  const bySize = sizes.map((rows) => {
    const a = analyze(rows, [tutorial.budgetBytes]);
    return { rows: Math.min(rows, train.rows), hotShare: a.hotShare[0].hotShare, authorsFill: a.hotShareAuthorsFill![0].hotShare };
  });
  const full = analyze(train.rows, budgets);

  // Every policy for one epoch, the fast tier holding FAE's default share of the tables.
  const budget = Math.max(rowBytes, Math.round(faeBudgetShare * tableBytes));
  const runs: PolicyRun[] = [];
  for (const policy of policies) {
    say(`papers: training ${policy} (1 epoch, fast tier ${formatBytes(budget)})`);
    const { result } = await runTraining(trainConfigFrom([...common, '--policy', policy, '--hot-budget', String(budget), '--stale-start', '50', '--learn-batches', '100']), silent());
    runs.push({ policy, auc: result.test?.auc ?? NaN, samplesPerSecond: result.samplesPerSecond, report: result.policy });
  }
  const result: PapersResult = { source: dataset ?? `synthetic ${values.rows} rows`, trainRows: train.rows, budgetBytes: budget, tutorial, atTutorial, bySize, full, runs };
  const table = comparison(result);
  for (const line of table) say(line);
  const dir = values.out ? new RunDir(values.out) : RunDir.create('runs', 'papers');
  dir.writeJson('papers.json', result);
  const page = await papersPage(result, table, join(dir.path, 'report'));
  say(`wrote ${join(dir.path, 'papers.json')} and ${page}`);
  return result;
}

const pct = (x: number) => `${x > 0 && x < 0.001 ? (100 * x).toPrecision(2) : (100 * x).toFixed(1)}%`;
const signed = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(4)}`;

/** Each observation beside the paper's figure, as table lines. */
export function comparison(r: PapersResult): string[] {
  const hottestTable = [...r.full.tables].sort((a, b) => b.hottest / Math.max(1, b.medianAccessed) - a.hottest / Math.max(1, a.medianAccessed))[0];
  const ratio = hottestTable.hottest / Math.max(1, hottestTable.medianAccessed);
  const at = (curve: AccessAnalysis['hotShare'], bytes: number) => curve.find((p) => p.budgetBytes === bytes)!.hotShare;
  const run = (p: string) => r.runs.find((x) => x.policy === p)!, base = run('baseline');
  const hot = run('hotline').report, fae = run('fae').report;
  const decision = (p: string) => (run(p).report.stalenessDecisions as { dropShare: number; threshold: number; inBand: boolean }[] | undefined)?.[0];
  const stale = (p: string) => {
    const d = decision(p);
    return d ? `${pct(d.dropShare)} of sampled hot inputs stale at T = ${d.threshold.toPrecision(3)}${d.inBand ? '' : ' (off the band)'}; ${pct(Number(run(p).report.skippedShare ?? 0))} skipped` : 'no decision (too few hot steps)';
  };
  const tutorialRows = Math.min(r.tutorial.inputs, r.trainRows);
  const lines = [
    '| observation | paper | here |',
    '|---|---|---|',
    `| access skew: the hottest row against the median row looked up | up to 10,000x (FAE) | ${ratio.toFixed(0)}x (${hottestTable.name}: ${hottestTable.hottest.toLocaleString('en-US')} against ${hottestTable.medianAccessed}) |`,
    `| ... on Kaggle's ${kaggleInputs.toLocaleString('en-US')} training inputs, at most (a stated model, not a measurement: each row keeps its share of lookups, the median row stays at 1) | up to 10,000x | ${(ratio * kaggleInputs / r.trainRows).toFixed(0)}x |`,
    `| rows that take 90% of the lookups, all tables | "a few entries" take most (FAE) | ${r.full.pooled.rowsFor90.toLocaleString('en-US')} of ${r.full.pooled.rows.toLocaleString('en-US')} rows (${pct(r.full.pooled.rowsFor90 / r.full.pooled.rows)}) |`,
    `| FAE hot inputs, 512 MB, 10% sampled, ${tutorialRows.toLocaleString('en-US')} inputs, the authors' fill of the budget | 44.4% (tutorial: 100,001 Kaggle inputs) | ${pct(at(r.atTutorial.hotShareAuthorsFill!, r.tutorial.budgetBytes))} |`,
    `| ... the rows the sample never saw left out (hotline's FAE) | | ${pct(at(r.atTutorial.hotShare, r.tutorial.budgetBytes))} |`,
    `| ... as the data grows (512 MB; authors' fill / unseen left out) | grows with the data (FAE) | ${r.bySize.map((s) => `${s.rows.toLocaleString('en-US')}: ${pct(s.authorsFill)} / ${pct(s.hotShare)}`).join(', ')} |`,
    `| ... as the budget grows (all inputs; authors' fill / unseen left out) | the knob (FAE) | ${r.full.hotShare.map((p, i) => `${formatBytes(p.budgetBytes)}: ${pct(r.full.hotShareAuthorsFill![i].hotShare)} / ${pct(p.hotShare)}`).join(', ')} |`,
    `| FAE hot inputs in training (${formatBytes(r.budgetBytes)}) | | ${pct(Number(fae.hotInputShare ?? 0))} |`,
    `| Hotline popular inputs, gather hidden behind compute | popular rows fit one GPU; the gather overlaps (Hotline) | ${pct(Number(hot.popularInputShare ?? 0))} popular, ${pct(Number(hot.hiddenGatherShare ?? 0))} of the gather hidden |`,
    `| Slipstream on FAE: stale share against D | D = 0.3 +- 0.08 (Slipstream) | ${stale('slipstream')} |`,
    `| Slipstream on Hotline | D = 0.3 +- 0.08 | ${stale('hotline+slipstream')} |`,
    `| test AUC, baseline | | ${base.auc.toFixed(4)} |`,
    ...r.runs.filter((x) => x.policy !== 'baseline').map((x) => `| test AUC, ${x.policy} | the baseline's (every paper) | ${x.auc.toFixed(4)} (${signed(x.auc - base.auc)}) |`),
  ];
  if (r.trainRows < r.tutorial.inputs) {
    lines.push(`Here are ${r.trainRows.toLocaleString('en-US')} training inputs, fewer than the tutorial's ${r.tutorial.inputs.toLocaleString('en-US')}: its figure needs that many (the share grows with the inputs; see the row by data size).`);
  }
  return lines;
}
