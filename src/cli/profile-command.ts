/** `hotline profile DATASET --budget 256MiB` (a dataset folder or a Criteo TSV): skew tables, the hot-input share by
 *  budget, and their plots. */
import { existsSync } from 'node:fs';
import { totalmem } from 'node:os';
import { formatBytes } from '../util/bytes.ts';
import { join } from 'node:path';
import { analyzeAccesses, formatAnalysis, standardBudgets } from '../popularity/analysis.ts';
import { accessCdfChart, hotShareChart } from '../report/profile-charts.ts';
import { bytesPerRow as rowBytes } from '../embedding/planner.ts';
import { writeChart } from '../report/plot.ts';
import { RunDir } from '../train/run-dir.ts';
import { UsageError } from './options.ts';
import { loadSplits, tableNames } from './prepare-data.ts';
import { trainConfigFrom } from './train-config.ts';

/** Profile's own arguments: a positional Criteo TSV, --budget (= --hot-budget), --out DIR. */
function translate(argv: string[]): { trainArgs: string[]; out: string | null } {
  const trainArgs: string[] = [];
  let out: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--out') out = argv[++i] ?? null;
    else if (a.startsWith('--out=')) out = a.slice(6);
    else if (a === '--budget' || a.startsWith('--budget=')) trainArgs.push(a.replace('--budget', '--hot-budget'));
    else if (!a.startsWith('--') && (i === 0 || !argv[i - 1].startsWith('--') || argv[i - 1].includes('='))) {
      // A dataset folder (hotline preprocess / gen) or a raw Criteo TSV.
      trainArgs.push(...(existsSync(join(a, 'manifest.json')) ? ['--dataset', a] : ['--data-generation', 'dataset', '--raw-data-file', a]));
    } else trainArgs.push(a);
  }
  return { trainArgs, out };
}

export async function runProfile(argv: string[], out: NodeJS.WriteStream = process.stdout): Promise<void> {
  const { trainArgs, out: outDir } = translate(argv);
  const config = trainConfigFrom(['--test-fraction', '0', ...trainArgs]);
  if (config.data.kind === 'random') throw new UsageError('profile needs data: a Criteo TSV path, or --data-generation synthetic');
  const { train } = loadSplits(config);
  // The profiler counts every row of every table, as FAE's hot set needs: refused before allocating when it cannot fit.
  const rows = train.tableRows.reduce((a, b) => a + b, 0);
  if (4 * rows > totalmem()) {
    throw new UsageError(`${config.data.kind === 'synthetic' ? 'the synthetic set' : config.data.path}: its tables have ${rows.toLocaleString('en-US')} rows; ` +
      `profiling keeps a count per row (${formatBytes(4 * rows)}), more than this machine's ${formatBytes(totalmem())} (a hashed dataset needs a smaller --max-ind-range)`);
  }
  const bytesPerRow = rowBytes(config.arch.embeddingDim, config.optimizer === 'adagrad' ? 1 : 0);
  const analysis = analyzeAccesses(train, bytesPerRow, config.fae.samplingRate, config.seed, [...standardBudgets, config.fae.budgetBytes], tableNames(config));
  out.write(`${formatAnalysis(analysis)}\n`);
  const dir = outDir ? new RunDir(outDir) : RunDir.create(config.runDir || 'runs', 'profile');
  dir.writeJson('profile.json', analysis);
  const files = [
    ...(await writeChart(accessCdfChart(analysis), join(dir.path, 'access-cdf'))),
    ...(await writeChart(hotShareChart(analysis), join(dir.path, 'hot-inputs-vs-budget'))),
  ];
  out.write(`wrote ${join(dir.path, 'profile.json')}, ${files.join(', ')}\n`);
}
