/** The `hotline` command. */
import { DataError } from '../data/formats/data-error.ts';
import { ArchError } from '../model/arch.ts';
import { helpText, UsageError } from './options.ts';
import { trainConfigFrom } from './train-config.ts';
import { resumeTraining, runTraining } from './train-command.ts';
import { CheckpointError } from '../checkpoint/checkpoint-store.ts';
import { runProfile } from './profile-command.ts';
import { runReport } from './report-command.ts';
import { join } from 'node:path';
import { writeReport } from '../report/report.ts';
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
           (DATASET: a dataset folder, a Criteo TSV, or --data-generation synthetic)
  preprocess INPUT... --out DIR [--format criteo|avazu|taobao|movielens|libfm|schema:FILE.json]
           [--max-ind-range N | --min-count N] [--on-bad-line error|skip]
           raw files (plain, .gz, MovieLens .zip) to a hotline dataset (resumable; train on it with --dataset DIR)
  gen      --out PATH [--rows N] [--format binary|tsv] [--zipf S] [--threads N]: a skewed synthetic Criteo-like set
  inspect  DIR [--verify]: rows, cardinalities, label rate and skew per column of a dataset

options of train (demo takes the same, with its own defaults):
${helpText()}
`;

/** The demo: Hotline for 1 epoch on 300k synthetic rows with the Kaggle MLPs and capped Kaggle cardinalities. */
const demoDefaults = [
  '--data-generation', 'synthetic', '--data-size', '300000', '--max-table-rows', '100000', '--policy', 'hotline',
  '--mini-batch-size', '256', '--learning-rate', '0.1', '--test-fraction', '0.1', '--test-freq', '250', '--threads', '2',
];

/** Trains, then writes the run's report and says where it is. */
async function runDemo(args: string[]): Promise<void> {
  const { runDir } = await runTraining(trainConfigFrom([...demoDefaults, ...args]));
  if (!runDir) return;
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

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (!command || command === '--help' || command === '-h' || rest.includes('--help')) {
      process.stdout.write(usage);
      return command ? 0 : 1;
    }
    if (command === 'train' && rest.includes('--resume')) await resumeTraining(resumeDir(rest));
    else if (command === 'train') await runTraining(trainConfigFrom(rest));
    else if (command === 'demo') await runDemo(rest);
    else if (command === 'profile') await runProfile(rest);
    else if (command === 'report') await runReport(rest);
    else if (command === 'preprocess') await runPreprocess(rest);
    else if (command === 'gen') await runGen(rest);
    else if (command === 'inspect') runInspect(rest);
    else throw new UsageError(`unknown command '${command}'`);
    return 0;
  } catch (error) {
    if (error instanceof UsageError || error instanceof ArchError || error instanceof DataError || error instanceof CheckpointError) {
      process.stderr.write(`hotline: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}
