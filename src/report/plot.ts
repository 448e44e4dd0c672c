/** Charts without a browser: a vega-lite spec compiled to SVG by vega, rasterised to PNG by resvg. */
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { writeFileAtomic } from '../util/atomic-file.ts';

export type ChartSpec = TopLevelSpec;

const config = { font: 'DejaVu Sans' };

export async function renderSvg(spec: ChartSpec): Promise<string> {
  const compiled = compile({ ...spec, config: { ...config, ...(spec.config ?? {}) } } as TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

/** Writes `${basePath}.svg` and `${basePath}.png` (each whole or not at all); returns both paths. */
export async function writeChart(spec: ChartSpec, basePath: string): Promise<string[]> {
  return writeSvgAndPng(await renderSvg(spec), basePath);
}

export function writeSvgAndPng(svg: string, basePath: string): string[] {
  const png = new Resvg(svg, { fitTo: { mode: 'zoom', value: 2 }, background: 'white', font: { defaultFontFamily: 'DejaVu Sans' } }).render().asPng();
  writeFileAtomic(`${basePath}.svg`, svg);
  writeFileAtomic(`${basePath}.png`, png);
  return [`${basePath}.svg`, `${basePath}.png`];
}
