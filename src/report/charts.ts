/** The report's charts, from one or several runs (several: one colour per run, and the comparison charts). */
import { accessCdfChart, hotShareChart } from './profile-charts.ts';
import type { ChartSpec } from './plot.ts';
import type { RunRecord } from './run-record.ts';
import { timelineChart } from './timeline.ts';

export interface Chart {
  id: string;
  title: string;
  /** What to read off it, under the figure. */
  caption: string;
  spec: ChartSpec;
}

const schema = 'https://vega.github.io/schema/vega-lite/v6.json';
const width = 620, height = 300;

function runColour(runs: RunRecord[]) {
  return { field: 'run', type: 'nominal' as const, title: 'run', scale: { domain: runs.map((r) => r.label) }, legend: { labelLimit: 360 } };
}

function lineChart(runs: RunRecord[], title: string, values: Record<string, unknown>[], y: { field: string; title: string; format?: string }, points = false): ChartSpec {
  return {
    $schema: schema, title, width, height, data: { values },
    mark: { type: 'line', point: points },
    encoding: {
      x: { field: 'samples', type: 'quantitative', title: 'training samples' },
      y: { field: y.field, type: 'quantitative', title: y.title, scale: { zero: false }, ...(y.format && { axis: { format: y.format } }) },
      color: runColour(runs),
    },
  };
}

function barChart(title: string, values: { run: string; value: number }[], axisTitle: string, format: string, rule: number): ChartSpec {
  return {
    $schema: schema, title, width, height: Math.max(60, 34 * values.length),
    data: { values },
    layer: [
      { mark: { type: 'bar' }, encoding: { y: { field: 'run', type: 'nominal', title: null, sort: null, axis: { labelLimit: 360 } }, x: { field: 'value', type: 'quantitative', title: axisTitle, axis: { format } }, color: { field: 'run', type: 'nominal', legend: null } } },
      { mark: { type: 'text', align: 'left', dx: 4 }, encoding: { y: { field: 'run', type: 'nominal', sort: null }, x: { field: 'value', type: 'quantitative' }, text: { field: 'value', format } } },
      { data: { values: [{ at: rule }] }, mark: { type: 'rule', strokeDash: [4, 3], color: '#555' }, encoding: { x: { field: 'at', type: 'quantitative' } } },
    ],
  } as ChartSpec;
}

/** The run the others are compared with: the first baseline run, else the first run. */
export function referenceRun(runs: RunRecord[]): RunRecord {
  return runs.find((r) => r.policy === 'baseline') ?? runs[0];
}

export function reportCharts(runs: RunRecord[]): Chart[] {
  const charts: Chart[] = [];
  const several = runs.length > 1;
  const train = runs.flatMap((r) => r.train.map((t) => ({ run: r.label, ...t })));
  const test = runs.flatMap((r) => r.test.map((t) => ({ run: r.label, ...t })));
  if (several) {
    const ref = referenceRun(runs), refRate = ref.summary?.samplesPerSecond ?? NaN, refAuc = ref.summary?.test?.auc ?? NaN;
    const finished = runs.filter((r) => r.summary);
    charts.push({
      id: 'speedup', title: 'Speedup over the reference run',
      caption: `Training samples per second of each run over those of ${ref.label} (dashed line: 1x).`,
      spec: barChart('Speedup (training throughput)', finished.map((r) => ({ run: r.label, value: r.summary!.samplesPerSecond / refRate })), `speedup over ${ref.policy}`, '.2f', 1),
    });
    if (finished.some((r) => r.summary!.test)) {
      charts.push({
        id: 'auc-delta', title: 'Test AUC against the reference run',
        caption: `Final test AUC of each run minus that of ${ref.label}: within about 0.001 is on par.`,
        spec: barChart('Test AUC difference', finished.filter((r) => r.summary!.test).map((r) => ({ run: r.label, value: r.summary!.test!.auc - refAuc })), `AUC - AUC of ${ref.policy}`, '+.4f', 0),
      });
    }
  }
  if (train.length > 0) {
    charts.push({ id: 'loss', title: 'Training loss', caption: 'Mean loss of the mini-batches since the previous point.', spec: lineChart(runs, 'Training loss', train, { field: 'loss', title: 'BCE loss' }) });
  }
  if (test.length > 0) {
    charts.push({ id: 'auc', title: 'Test AUC', caption: 'AUC on the held-out split at each evaluation.', spec: lineChart(runs, 'Test AUC', test, { field: 'auc', title: 'ROC AUC' }, true) });
  }
  if (train.length > 0) {
    charts.push({
      id: 'throughput', title: 'Throughput',
      caption: 'Training samples per second, averaged from the start of training (evaluations and checkpoints not counted).',
      spec: lineChart(runs, 'Throughput', train, { field: 'samplesPerSecond', title: 'samples / s' }),
    });
  }
  const phases = runs.filter((r) => r.summary).flatMap((r) => Object.entries(r.summary!.phases).map(([phase, seconds]) => ({ run: r.label, phase, seconds })));
  if (phases.length > 0) {
    charts.push({
      id: 'phases', title: 'Time per phase',
      caption: 'Training time split into embedding work (pooling and updates), tier syncs and the rest (dense layers, interaction, loss).',
      spec: {
        $schema: schema, title: 'Time per phase', width, height: Math.max(60, 34 * runs.length), data: { values: phases },
        mark: { type: 'bar' },
        encoding: {
          y: { field: 'run', type: 'nominal', title: null, sort: null, axis: { labelLimit: 360 } },
          x: { field: 'seconds', type: 'quantitative', title: 'seconds', stack: 'zero' },
          color: { field: 'phase', type: 'nominal', title: 'phase' },
        },
      },
    });
  }
  const skipped = runs.flatMap((r) => r.train.filter((t) => t.skippedInputs !== undefined).map((t) => ({
    run: r.label, samples: t.samples, share: t.skippedInputs! / (t.samples + t.skippedInputs!),
  })));
  if (skipped.length > 0) {
    charts.push({
      id: 'slipstream-drop', title: 'Slipstream: inputs skipped as stale',
      caption: 'Share of the scheduled inputs skipped because every row they look up had stopped changing (cumulative).',
      spec: lineChart(runs, 'Inputs skipped as stale (cumulative share)', skipped, { field: 'share', title: 'skipped share', format: '%' }),
    });
  }
  for (const r of runs) {
    const suffix = several ? ` (${r.label})` : '', id = several ? `-${runs.indexOf(r) + 1}` : '';
    if (r.profile) {
      charts.push({ id: `skew${id}`, title: `Access skew${suffix}`, caption: 'Share of the lookups that go to the hottest rows, per table and over all tables (profiled sample of the training inputs).', spec: accessCdfChart(r.profile) });
      charts.push({ id: `hot-inputs${id}`, title: `Hot inputs by budget${suffix}`, caption: 'Share of the training inputs whose every lookup falls in the fast tier, by its budget.', spec: hotShareChart(r.profile) });
    }
    if (r.timeline && r.timeline.length > 0) {
      charts.push({
        id: `timeline${id}`, title: `Hotline pipeline${suffix}`,
        caption: "What the compute threads and the host lane did over a few mini-batches: the lane's gathers of host rows overlap the bottom MLP and the fast-tier pooling.",
        spec: timelineChart(r.timeline),
      });
    }
  }
  return charts;
}
