/** The charts of an access profile: the share of lookups on the hottest rows, and the hot-input share by budget. */
import type { AccessAnalysis } from '../popularity/analysis.ts';
import type { ChartSpec } from './plot.ts';

export function accessCdfChart(a: AccessAnalysis): ChartSpec {
  const values = [...a.tables, a.pooled].flatMap((s) => s.curve.map((p) => ({ table: s.name, ...p })));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Share of lookups on the hottest rows',
    width: 520, height: 320,
    data: { values },
    mark: { type: 'line', point: false },
    encoding: {
      x: { field: 'rowShare', type: 'quantitative', scale: { type: 'log' }, title: 'share of rows, hottest first' },
      y: { field: 'lookupShare', type: 'quantitative', title: 'share of lookups', scale: { domain: [0, 1] } },
      color: { field: 'table', type: 'nominal', scale: { domain: [...a.tables, a.pooled].map((t) => t.name) }, legend: { columns: 2, symbolLimit: 30 } },
      strokeWidth: { condition: { test: "datum.table === 'all tables'", value: 3.5 }, value: 1 },
    },
  };
}

export function hotShareChart(a: AccessAnalysis): ChartSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Inputs whose every lookup is hot, by fast-tier budget',
    width: 520, height: 320,
    data: { values: a.hotShare.map((p) => ({ MiB: p.budgetBytes / 2 ** 20, hotShare: p.hotShare })) },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'MiB', type: 'quantitative', scale: { type: 'log' }, title: 'budget (MiB)' },
      y: { field: 'hotShare', type: 'quantitative', title: 'hot-input share', scale: { domain: [0, 1] }, axis: { format: '%' } },
    },
  };
}
