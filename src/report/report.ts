/** `hotline report`: one HTML page (with every chart inline) and an SVG and a PNG of each chart, for one run or several. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-file.ts';
import { reportCharts } from './charts.ts';
import { reportHtml } from './html.ts';
import { renderSvg, writeSvgAndPng } from './plot.ts';
import { readRun } from './run-record.ts';

export interface WrittenReport {
  html: string;
  charts: string[];
}

export async function writeReport(runDirs: string[], outDir: string): Promise<WrittenReport> {
  const runs = runDirs.map(readRun);
  // Legends name runs by policy when that tells them apart, else by folder.
  if (new Set(runs.map((r) => r.policy)).size === runs.length) for (const r of runs) r.label = r.policy;
  mkdirSync(outDir, { recursive: true });
  const rendered = [];
  for (const chart of reportCharts(runs)) {
    const svg = await renderSvg(chart.spec);
    writeSvgAndPng(svg, join(outDir, chart.id));
    rendered.push({ chart, svg });
  }
  const html = join(outDir, 'index.html');
  writeFileAtomic(html, reportHtml(runs, rendered));
  return { html, charts: rendered.map((r) => r.chart.id) };
}
