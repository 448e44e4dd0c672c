/** Hotline's pipeline as a Gantt chart: what the compute threads and the lanes did, step by step. */
import type { TimelineEvent } from '../pipeline/timeline.ts';
import type { ChartSpec } from './plot.ts';

/** The events of `steps` consecutive steps starting at the first fragmented one, times in ms from its start. */
export function timelineChart(events: TimelineEvent[], steps = 6): ChartSpec {
  const first = events.length ? Math.min(...events.map((e) => e.step)) : 0;
  const shown = events.filter((e) => e.step >= first + 1 && e.step < first + 1 + steps); // skip the warm-up step
  const origin = shown.length ? Math.min(...shown.map((e) => e.startNs)) : 0;
  const values = shown.map((e) => ({
    lane: e.lane === 'compute' ? 'compute threads' : `${e.lane} lane`, phase: e.phase, step: e.step,
    start: (e.startNs - origin) / 1e6, end: Math.max((e.endNs - origin) / 1e6, (e.startNs - origin) / 1e6 + 0.01),
  }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Hotline pipeline: compute threads and lanes per mini-batch',
    width: 760, height: 140,
    data: { values },
    mark: { type: 'bar', cornerRadius: 2, height: 26 },
    encoding: {
      y: { field: 'lane', type: 'nominal', title: null, sort: ['compute threads', 'host lane', 'ssd lane'] },
      x: { field: 'start', type: 'quantitative', title: 'time (ms)' },
      x2: { field: 'end' },
      color: { field: 'phase', type: 'nominal', title: 'phase', legend: { labelLimit: 320 } },
      tooltip: [{ field: 'step' }, { field: 'phase' }, { field: 'start' }, { field: 'end' }],
    },
  };
}
