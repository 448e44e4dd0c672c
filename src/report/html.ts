/** The report as one self-contained HTML page: tables of the runs, then every chart as inline SVG. */
import type { Chart } from './charts.ts';
import { referenceRun } from './charts.ts';
import type { RunRecord } from './run-record.ts';

export const escape = (text: unknown) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const num = (x: number | undefined, digits: number) => (x === undefined || !Number.isFinite(x) ? '–' : x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));

function runsTable(runs: RunRecord[]): string {
  const ref = referenceRun(runs), refRate = ref.summary?.samplesPerSecond, refAuc = ref.summary?.test?.auc;
  const rows = runs.map((r) => {
    const s = r.summary, auc = s?.test?.auc;
    const state = s ? '' : ' (unfinished)';
    return `<tr><td>${escape(r.label)}${state}</td><td>${escape(r.policy)}</td><td>${num(s?.steps ?? r.train.at(-1)?.step, 0)}</td>` +
      `<td>${num(s?.samples ?? r.train.at(-1)?.samples, 0)}</td><td>${num(s?.trainSeconds, 1)}</td><td>${num(s?.samplesPerSecond, 0)}</td>` +
      `<td>${runs.length > 1 && s && refRate ? `${num(s.samplesPerSecond / refRate, 2)}x` : '–'}</td><td>${num(auc, 4)}</td>` +
      `<td>${runs.length > 1 && auc !== undefined && refAuc !== undefined ? `${auc - refAuc >= 0 ? '+' : ''}${num(auc - refAuc, 4)}` : '–'}</td>` +
      `<td>${num(s?.test?.logloss, 4)}</td></tr>`;
  });
  return `<table><thead><tr><th>run</th><th>policy</th><th>steps</th><th>samples</th><th>train s</th><th>samples/s</th><th>speedup</th>` +
    `<th>test AUC</th><th>AUC delta</th><th>logloss</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function details(r: RunRecord): string {
  const env = r.environment ?? {};
  const keys = ['hotline', 'node', 'os', 'cpu', 'cores', 'kernels', 'threads', 'startedAt'];
  const envRows = keys.filter((k) => k in env).map((k) => `<tr><th>${k}</th><td>${escape(env[k])}</td></tr>`).join('');
  const c = r.config as Record<string, unknown>;
  const cfgKeys = ['model', 'policy', 'batchSize', 'learningRate', 'optimizer', 'epochs', 'numBatches', 'seed', 'threads', 'data', 'arch', 'tbsm'];
  const cfgRows = cfgKeys.filter((k) => k in c).map((k) => `<tr><th>${k}</th><td>${escape(JSON.stringify(c[k]))}</td></tr>`).join('');
  const events = r.events.slice(0, 40).map((e) => {
    const { step, event, ...rest } = e;
    const fields = Object.entries(rest).filter(([, v]) => typeof v !== 'object').map(([k, v]) => `${k}=${typeof v === 'number' ? +v.toPrecision(4) : v}`).join(', ');
    return `<tr><td>${escape(step)}</td><td>${escape(event)}</td><td>${escape(fields)}</td></tr>`;
  }).join('');
  return `<details><summary>${escape(r.label)}: configuration, environment and policy events</summary>` +
    `<div class="cols"><table>${cfgRows}</table><table>${envRows}</table></div>` +
    (events ? `<table><thead><tr><th>step</th><th>event</th><th>details</th></tr></thead><tbody>${events}</tbody></table>` : '<p>No policy events.</p>') +
    `<p class="path">${escape(r.dir)}</p></details>`;
}

export function reportHtml(runs: RunRecord[], charts: { chart: Chart; svg: string }[]): string {
  const title = runs.length === 1 ? `hotline run ${runs[0].label}` : `hotline: ${runs.length} runs compared`;
  const figures = charts.map(({ chart, svg }) =>
    `<figure class="chart" id="${chart.id}"><h3>${escape(chart.title)}</h3>${svg}<figcaption>${escape(chart.caption)}</figcaption></figure>`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title>
<style>
body { font-family: 'DejaVu Sans', system-ui, sans-serif; margin: 2rem auto; max-width: 1000px; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.9rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: left; vertical-align: top; }
td:nth-child(n+3) { font-variant-numeric: tabular-nums; }
figure.chart { margin: 1.5rem 0; padding: 0.5rem 0 1rem; border-top: 1px solid #eee; }
figure.chart svg { max-width: 100%; height: auto; }
figcaption { color: #555; font-size: 0.9rem; }
.cols { display: flex; gap: 2rem; flex-wrap: wrap; }
.path { color: #777; font-size: 0.8rem; }
</style></head>
<body>
<h1>${escape(title)}</h1>
<p>Generated ${escape(new Date().toISOString())} by <code>hotline report</code>. ${charts.length} charts; each is also an SVG and a PNG file beside this page.</p>
${runsTable(runs)}
${runs.map(details).join('\n')}
${figures}
</body></html>
`;
}
