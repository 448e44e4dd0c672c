/** The page of `hotline papers`: the comparison table and its plots (skew, hot inputs by budget and by data size,
 *  test AUC by policy). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AccessAnalysis } from '../popularity/analysis.ts';
import { escape } from './html.ts';
import { type ChartSpec, renderSvg, writeSvgAndPng } from './plot.ts';
import { accessCdfChart, hotShareChart } from './profile-charts.ts';

export interface PolicyRun {
  policy: string;
  auc: number;
  samplesPerSecond: number;
  report: Record<string, unknown>;
}

export interface PapersResult {
  source: string;
  trainRows: number;
  /** The fast tier of the training runs. */
  budgetBytes: number;
  tutorial: { inputs: number; budgetBytes: number; samplingRate: number; hotShare: number };
  /** FAE's profile (with the authors' fill's curve too) on the tutorial's number of inputs, and on all of them. */
  atTutorial: AccessAnalysis;
  full: AccessAnalysis;
  /** The hot-input share at the tutorial's budget on the first N inputs (unseen rows left out, and the authors' fill). */
  bySize: { rows: number; hotShare: number; authorsFill: number }[];
  runs: PolicyRun[];
}

const schema = 'https://vega.github.io/schema/vega-lite/v6.json';

function hotBySizeChart(r: PapersResult): ChartSpec {
  return {
    $schema: schema, title: `Hot inputs at ${r.tutorial.budgetBytes / 2 ** 20} MiB as the data grows (the tutorial: 44.4% at 100,001 Kaggle inputs)`,
    width: 520, height: 300,
    data: {
      values: [
        ...r.bySize.map((s) => ({ rows: s.rows, hotShare: s.authorsFill, source: "here, the authors' fill" })),
        ...r.bySize.map((s) => ({ rows: s.rows, hotShare: s.hotShare, source: 'here, unseen rows left out' })),
        { rows: r.tutorial.inputs, hotShare: r.tutorial.hotShare, source: 'FAE tutorial (Kaggle)' },
      ],
    },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'rows', type: 'quantitative', scale: { type: 'log' }, title: 'training inputs profiled' },
      y: { field: 'hotShare', type: 'quantitative', title: 'hot-input share', scale: { domain: [0, 1] }, axis: { format: '%' } },
      color: { field: 'source', type: 'nominal', title: null },
    },
  };
}

function aucChart(r: PapersResult): ChartSpec {
  const values = r.runs.map((x) => ({ policy: x.policy, auc: x.auc }));
  const base = r.runs.find((x) => x.policy === 'baseline')!.auc;
  return {
    $schema: schema, title: 'Test AUC of every policy, one epoch (rule: the baseline)', width: 520, height: 34 * values.length,
    data: { values },
    layer: [
      { mark: 'bar', encoding: { y: { field: 'policy', type: 'nominal', sort: null, title: null }, x: { field: 'auc', type: 'quantitative', scale: { zero: false }, title: 'test AUC' } } },
      { mark: { type: 'rule', color: 'black' }, encoding: { x: { datum: base } } },
      { mark: { type: 'text', align: 'left', dx: 4 }, encoding: { y: { field: 'policy', type: 'nominal', sort: null }, x: { field: 'auc', type: 'quantitative' }, text: { field: 'auc', format: '.4f' } } },
    ],
  };
}

/** Writes the page (index.html with its charts as SVG and PNG) into dir; returns its path. */
export async function papersPage(r: PapersResult, table: string[], dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const charts: [string, string, ChartSpec][] = [
    ['skew', 'Share of lookups on the hottest rows (FAE: a few rows take most lookups)', accessCdfChart(r.full)],
    ['hot-by-budget', "FAE hot inputs by budget, every training input, the budget filled as the authors' profiler fills it", hotShareChart({ ...r.full, hotShare: r.full.hotShareAuthorsFill! })],
    ['hot-by-size', 'FAE hot inputs as the data grows', hotBySizeChart(r)],
    ['auc', 'Test AUC by policy', aucChart(r)],
  ];
  const figures: string[] = [];
  for (const [id, title, spec] of charts) {
    const svg = await renderSvg(spec);
    writeSvgAndPng(svg, join(dir, id));
    figures.push(`<figure id="${id}"><h3>${escape(title)}</h3>${svg}</figure>`);
  }
  const rows = table.filter((l) => l.startsWith('| ') && !l.startsWith('| observation')).map((l) => `<tr>${l.slice(2, -2).split(' | ').map((c) => `<td>${escape(c)}</td>`).join('')}</tr>`);
  const notes = table.filter((l) => !l.startsWith('|')).map((l) => `<p>${escape(l)}</p>`);
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>hotline papers: ${escape(r.source)}</title>
<style>body { font-family: 'DejaVu Sans', system-ui, sans-serif; margin: 2rem auto; max-width: 1000px; color: #222; }
table { border-collapse: collapse; } th, td { border-bottom: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: left; vertical-align: top; }
figure svg { max-width: 100%; height: auto; }</style></head>
<body><h1>The papers' observations on ${escape(r.source)}</h1>
<p>${r.trainRows.toLocaleString('en-US')} training inputs; the training runs' fast tier holds ${(r.budgetBytes / 2 ** 20).toFixed(1)} MiB, FAE's default share of the Kaggle tables.</p>
<table><thead><tr><th>observation</th><th>paper</th><th>here</th></tr></thead><tbody>${rows.join('')}</tbody></table>
${notes.join('\n')}
${figures.join('\n')}
</body></html>
`;
  const path = join(dir, 'index.html');
  writeFileSync(path, html);
  return path;
}
