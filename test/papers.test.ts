// hotline papers: the papers' observations on the data at hand, and the hot-input curve under the authors' fill.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { generateSynthetic } from '../src/data/synthetic.ts';
import { hotInputCurve } from '../src/popularity/hot-inputs.ts';
import { profileAccesses, rankRows } from '../src/popularity/profiler.ts';
import type { PapersResult } from '../src/report/papers.ts';

describe('the hot-input curve', () => {
  it("with the authors' fill: the budget the ranked rows leave goes to unseen rows from the last table's last row back (brute force)", () => {
    const tableRows = [50, 300, 20], data = generateSynthetic({ rows: 3000, tableRows, denseFeatures: 2, zipf: 1.2, seed: 8 });
    const profile = profileAccesses(data, 0.05, 8), ranking = rankRows(profile), bytesPerRow = 16;
    const order: [number, number][] = Array.from(ranking.rows, (r, i) => [ranking.tables[i], r]);
    const seen = new Set(order.map(([t, r]) => `${t}:${r}`));
    for (let t = tableRows.length - 1; t >= 0; t--) for (let r = tableRows[t] - 1; r >= 0; r--) if (!seen.has(`${t}:${r}`)) order.push([t, r]);
    for (const rows of [10, 100, ranking.rows.length + 25, 300]) {
      const hot = new Set(order.slice(0, rows).map(([t, r]) => `${t}:${r}`));
      let hotInputs = 0;
      for (let i = 0; i < data.rows; i++) if (data.categorical.every((c, t) => hot.has(`${t}:${c[i]}`))) hotInputs++;
      const [authors] = hotInputCurve(profile, ranking, data, bytesPerRow, [rows * bytesPerRow], 'authors');
      const [cold] = hotInputCurve(profile, ranking, data, bytesPerRow, [rows * bytesPerRow]);
      assert.equal(authors.hotShare, hotInputs / data.rows, `${rows} rows`);
      assert.ok(authors.hotShare >= cold.hotShare, 'the fill only adds hot rows');
    }
  });
});

describe('hotline papers', () => {
  it("prints each observation beside the paper's figure and writes papers.json and a report page", () => {
    const out = join(mkdtempSync(join(tmpdir(), 'hotline-papers-')), 'run');
    const bin = new URL('../bin/hotline.mjs', import.meta.url).pathname;
    const r = spawnSync(process.execPath, [bin, 'papers', '--rows', '20000', '--out', out], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    for (const row of ['access skew', "the authors' fill of the budget", 'Hotline popular inputs', 'Slipstream on FAE', 'test AUC, hotline+slipstream']) {
      assert.match(r.stdout, new RegExp(`\\| [^\\n]*${row.replace(/[+]/g, '\\+')}`), row);
    }
    assert.match(r.stdout, /44\.4% \(tutorial: 100,001 Kaggle inputs\)/);
    assert.match(r.stdout, /fewer than the tutorial's 100,001/);
    const result = JSON.parse(readFileSync(join(out, 'papers.json'), 'utf8')) as PapersResult;
    assert.equal(result.trainRows, 18000);
    assert.deepEqual(result.runs.map((x) => x.policy), ['baseline', 'fae', 'hotline', 'slipstream', 'hotline+slipstream']);
    assert.ok(result.runs.every((x) => x.auc > 0.5 && x.auc < 1 && x.samplesPerSecond > 0));
    assert.equal(result.runs[2].auc, result.runs[0].auc, "Hotline keeps the baseline's order: its AUC");
    result.full.hotShare.forEach((p, i) => assert.ok(result.full.hotShareAuthorsFill![i].hotShare >= p.hotShare));
    assert.deepEqual(result.bySize.map((s) => s.rows), [2250, 4500, 9000, 18000]);
    for (const chart of ['skew', 'hot-by-budget', 'hot-by-size', 'auc']) assert.ok(existsSync(join(out, 'report', `${chart}.png`)), chart);
    assert.match(readFileSync(join(out, 'report', 'index.html'), 'utf8'), /<td>FAE hot inputs, 512 MB, 10% sampled/);
  });
});
