/** `hotline report RUN_DIR... [--out DIR]`: the report of one run (into RUN_DIR/report) or a comparison of several. */
import { join } from 'node:path';
import { writeReport } from '../report/report.ts';
import { UsageError } from './options.ts';

export async function runReport(args: string[], out: NodeJS.WriteStream = process.stdout): Promise<void> {
  const dirs: string[] = [];
  let outDir: string | null = null;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--out') {
      outDir = args[++i] ?? null;
      if (!outDir) throw new UsageError('--out: missing value');
    } else if (args[i].startsWith('--')) {
      throw new UsageError(`report: unknown option ${args[i]} (usage: hotline report RUN_DIR... [--out DIR])`);
    } else {
      dirs.push(args[i]);
    }
  }
  if (dirs.length === 0) throw new UsageError('usage: hotline report RUN_DIR... [--out DIR]');
  const report = await writeReport(dirs, outDir ?? (dirs.length === 1 ? join(dirs[0], 'report') : 'hotline-report'));
  out.write(`report: ${report.html} (${report.charts.length} charts: ${report.charts.join(', ')})\n`);
}
