/** The `hotline` command. */
import { ConfigError, DataError, StorageError } from '../util/errors.ts';
import { ArchError } from '../model/arch.ts';
import { helpText, UsageError } from './options.ts';
import { trainConfigFrom } from './train-config.ts';
import { resumeTraining, runTraining } from './train-command.ts';
import { CheckpointError } from '../checkpoint/checkpoint-store.ts';
import { DivergenceError } from '../train/trainer.ts';
import { describeOsError, isOsError } from '../util/os-error.ts';
import { printable } from '../util/printable.ts';
import { join } from 'node:path';
import { runGen, runInspect, runPreprocess } from './data-commands.ts';

const usage = `usage: hotline <command> [options]

commands:
  demo     train a DLRM with Hotline on a built-in skewed Criteo-like set (no data needed), print the test AUC
           and write the run's report
  train    train a DLRM (dlrm-compatible flags, or --config FILE.json); --checkpoint-every N saves checkpoints
  train --resume RUN_DIR
           continue a killed or stopped run from its newest sound checkpoint, exactly
  report   RUN_DIR... [--out DIR]: an HTML page with plots (loss, AUC, throughput, phases, skew, pipeline,
           skipped inputs) of a run, or of several side by side with speedups and AUC deltas
  profile  DATASET --budget 256MiB [--out DIR]: access skew per table, hot-input share by budget, plots
  papers   [DATASET] [--rows N] [--out DIR]: FAE's, Hotline's and Slipstream's observations on this data, each
           beside the paper's figure (skew, hot and popular shares, stale share, every policy's AUC), with plots
           (DATASET: a dataset folder, a Criteo TSV, or --data-generation synthetic)
  preprocess INPUT... --out DIR [--format criteo|avazu|taobao|taobao-tbsm|movielens|libfm|schema:FILE.json]
           [--max-ind-range N | --min-count N] [--on-bad-line error|skip]
           raw files (plain, .gz, MovieLens .zip) to a hotline dataset (resumable; train on it with --dataset DIR)
  gen      --out PATH [--rows N] [--format binary|tsv|taobao] [--zipf S] [--threads N]: a skewed synthetic Criteo-like set
  inspect  DIR [--verify]: rows, cardinalities, label rate and skew per column of a dataset
  devices  the compute devices here: the CPU ones and the GPU adapters WebGPU finds, their limits, what auto picks

options of train (demo takes the same, with its own defaults):
${helpText()}

exit codes: 0 done; 2 refused, with one line saying why (bad data names file:line: field, a bad option its flag,
an OS error the path); 3 training diverged (the loss stopped being finite; the last good checkpoint is kept)
`;

/** `hotline COMMAND --help`: the command's own options. */
const commandHelp: Record<string, string> = {
  preprocess: `usage: hotline preprocess INPUT... --out DIR [options]
raw files (plain, .gz, MovieLens .zip) to a hotline dataset; resumable after a kill (OUT.partial), written atomically

  --out DIR                 the dataset folder to write (must not exist)
  --format NAME             criteo (default), avazu, taobao, taobao-tbsm, movielens, libfm, or schema:FILE.json for any CSV/TSV
  --min-count N             values seen fewer than N times share one id [1]
  --max-ind-range N         hash the values into N ids instead of numbering them (at most 2147483647)
  --chunk-size SIZE         bytes parsed per unit of work, e.g. 64MiB [64MiB]
  --on-bad-line error|skip  stop at the first bad line (file:line: field), or skip and count bad lines [error]
  --threads N               threads for parsing and counting [the cores]
taobao-tbsm (TBSM's history windows of Taobao UserBehavior; train, validation and test parts):
  --ts-length N             history events before each candidate [20]
  --points-per-user N       training points of a user with 40 events or more [10]
  --num-train-pts N         training users taking points (seeded choice) [all]
  --num-val-pts N           training users taking a validation point (seeded choice) [all, at most 300000]
  --seed N                  seed of every draw [123]
  --partition-events N      events held at once in the sample pass (the output is the same) [4194304]
`,
  gen: `usage: hotline gen --out PATH [options]
a skewed synthetic Criteo-like set (Zipf ids, labels from a planted model), as a dataset folder or a raw TSV

  --out PATH                the dataset folder or TSV file to write (must not exist)
  --rows N                  rows [1000000]
  --format binary|tsv|taobao  a dataset folder, Criteo raw TSV, or a Taobao UserBehavior CSV [binary]
  --preset kaggle|terabyte  table sizes [kaggle]
  --max-table-rows N        cap every table at N rows
  --zipf S                  Zipf exponent, one or one per table, comma-separated [1.1]
  --seed N                  seed [1]
  --threads N               worker threads generating parts [the cores]
  --users, --items, --categories, --events N   taobao: its sizes [10000, 100000, 1000, 1000000]
`,
  inspect: `usage: hotline inspect DATASET_DIR [--verify]
rows, size, label rate, encoding and skew per column of a dataset; every row is checked against the manifest

  --verify                  also check every file's SHA-256 against the manifest
`,
  report: `usage: hotline report RUN_DIR... [--out DIR]
an HTML page with plots of one run (into RUN_DIR/report), or of several side by side (speedups, AUC deltas)

  --out DIR                 where to write the report [RUN_DIR/report, or hotline-report for several runs]
`,
  profile: `usage: hotline profile DATASET [--budget SIZE] [--sampling-rate R] [--out DIR] [train's data options]
access skew per table, the hot-input share by budget, and their plots; DATASET: a dataset folder, a Criteo TSV
(plain or .gz), or --data-generation synthetic

  --budget SIZE             fast-tier budget to evaluate, e.g. 256MiB [256MiB]
  --sampling-rate R         share of the inputs sampled, in (0, 1] [0.05]
  --out DIR                 where to write profile.json and the plots [runs/<time>-profile]
`,
  papers: `usage: hotline papers [DATASET] [--rows N] [--out DIR] [--threads N] [--seed N]
FAE's, Hotline's and Slipstream's observations on this data, each beside the paper's figure, with a report page;
DATASET: a dataset folder (its training split), or none for the built-in skewed set at Kaggle's cardinalities

  --rows N                  rows of the built-in set [300000]
  --out DIR                 where to write papers.json and report/ [runs/<time>-papers]
  --threads N               compute threads of the training runs [2]
  --seed N                  seed of the data, the profiles and the training runs [123]
`,
};

/** The demo: Hotline for 1 epoch on 300k synthetic rows with the Kaggle MLPs and capped Kaggle cardinalities. */
const demoDefaults = [
  '--data-generation', 'synthetic', '--data-size', '300000', '--max-table-rows', '100000', '--policy', 'hotline',
  '--mini-batch-size', '256', '--learning-rate', '0.1', '--test-fraction', '0.1', '--test-freq', '250', '--threads', '2',
];

/** Trains, then writes the run's report and says where it is. */
async function runDemo(args: string[]): Promise<void> {
  const { runDir } = await runTraining(trainConfigFrom([...demoDefaults, ...args]));
  if (!runDir) return;
  const { writeReport } = await import('../report/report.ts');
  const report = await writeReport([runDir], join(runDir, 'report'));
  process.stdout.write(`report: ${report.html}\n`);
}

/** `train --resume RUN_DIR` takes the run's saved configuration and nothing else. */
function resumeDir(args: string[]): string {
  if (args.length !== 2 || args[0] !== '--resume') {
    throw new UsageError(`train --resume RUN_DIR continues a run with its saved configuration; other options are not taken (got ${args.join(' ')})`);
  }
  return args[1];
}

/** Plotting (vega, resvg) loads in about a second: only the commands that draw import it. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (!command || command === '--help' || command === '-h' || rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(commandHelp[command] ?? usage);
      return command ? 0 : 1;
    }
    if (command === 'train' && rest.includes('--resume')) await resumeTraining(resumeDir(rest));
    else if (command === 'train') await runTraining(trainConfigFrom(rest));
    else if (command === 'demo') await runDemo(rest);
    else if (command === 'profile') await (await import('./profile-command.ts')).runProfile(rest);
    else if (command === 'papers') await (await import('./papers-command.ts')).runPapers(rest);
    else if (command === 'report') await (await import('./report-command.ts')).runReport(rest);
    else if (command === 'preprocess') await runPreprocess(rest);
    else if (command === 'gen') await runGen(rest);
    else if (command === 'inspect') runInspect(rest);
    else if (command === 'devices') await (await import('./devices-command.ts')).runDevices();
    else throw new UsageError(`unknown command '${command}'`);
    return 0;
  } catch (error) {
    const say = (message: string) => process.stderr.write(`hotline: ${printable(message)}\n`);
    if (error instanceof UsageError || error instanceof ArchError || error instanceof DataError || error instanceof ConfigError || error instanceof CheckpointError || error instanceof StorageError) {
      say(error.message);
      return 2;
    }
    if (isOsError(error)) {
      say(describeOsError(error));
      return 2;
    }
    if (error instanceof DivergenceError) {
      say(error.message);
      return 3;
    }
    throw error;
  }
}
