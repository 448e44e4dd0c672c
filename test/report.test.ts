// Reports: the demo's page and a comparison page, loaded in headless Chromium (Debian's chromium), where
// every chart must have rendered: an SVG with a non-empty box and drawn marks in each figure.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const bin = new URL('../bin/hotline.mjs', import.meta.url).pathname;
const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find(existsSync);
const skip = chromium ? false : 'Chromium is not installed (apt-get install chromium); .ci/run installs it';
/** Where the screenshots go: HOTLINE_ARTIFACTS (CI keeps it), else a temporary folder. */
const artifacts = process.env.HOTLINE_ARTIFACTS ?? mkdtempSync(join(tmpdir(), 'hotline-artifacts-'));

/** Runs in the page after load: per figure, whether its SVG has a box and how many marks it drew. */
const probe = `<script>
document.documentElement.dataset.check = JSON.stringify([...document.querySelectorAll('figure.chart')].map((f) => {
  const svg = f.querySelector('svg'), box = svg ? svg.getBoundingClientRect() : { width: 0, height: 0 };
  const marks = svg ? svg.querySelectorAll('path, rect, line, circle, text').length : 0;
  return { id: f.id, width: box.width, height: box.height, marks };
}));
</script>`;

interface FigureCheck {
  id: string;
  width: number;
  height: number;
  marks: number;
}

function headless(args: string[]): string {
  return execFileSync(chromium!, ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--hide-scrollbars', ...args], {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 60_000,
  });
}

/** Loads the page in Chromium; returns what the probe saw, and saves a screenshot. */
function renderInChromium(html: string, screenshot: string): FigureCheck[] {
  const probed = html.replace('</body>', `${probe}</body>`), page = join(mkdtempSync(join(tmpdir(), 'hotline-page-')), 'page.html');
  writeFileSync(page, probed);
  const dom = headless(['--window-size=1100,1400', '--dump-dom', `file://${page}`]);
  const m = /data-check="([^"]*)"/.exec(dom);
  assert.ok(m, 'the probe did not run in Chromium');
  headless(['--window-size=1100,5200', `--screenshot=${screenshot}`, `file://${page}`]);
  assert.ok(statSync(screenshot).size > 50_000, 'the screenshot is nearly empty');
  return JSON.parse(m[1].replace(/&quot;/g, '"').replace(/&amp;/g, '&')) as FigureCheck[];
}

function assertRendered(checks: FigureCheck[], expected: string[]): void {
  assert.deepEqual(checks.map((c) => c.id), expected);
  for (const c of checks) {
    assert.ok(c.width > 200 && c.height > 80, `${c.id}: rendered ${c.width} x ${c.height}`);
    assert.ok(c.marks > 10, `${c.id}: only ${c.marks} marks drawn`);
  }
}

describe('reports in headless Chromium', { skip }, () => {
  mkdirSync(artifacts, { recursive: true });

  it('the demo writes its report, and every plot renders', () => {
    const runs = mkdtempSync(join(tmpdir(), 'hotline-demo-'));
    const r = spawnSync(process.execPath, [bin, 'demo', '--data-size', '60000', '--learn-batches', '40', '--run-dir', runs], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const html = /report: (.*index\.html)/.exec(r.stdout)?.[1];
    assert.ok(html && existsSync(html), r.stdout);
    const expected = ['loss', 'auc', 'throughput', 'phases', 'skew', 'hot-inputs', 'timeline'];
    for (const id of expected) for (const ext of ['svg', 'png']) assert.ok(existsSync(join(html, '..', `${id}.${ext}`)), `${id}.${ext}`);
    const page = readFileSync(html, 'utf8');
    assert.doesNotMatch(page, /<script|<link|src="http/, 'the page must stand alone');
    assertRendered(renderInChromium(page, join(artifacts, 'demo-report.png')), expected);
  });

  it('compares runs: speedup and AUC deltas against the baseline, Slipstream drop share', () => {
    const runs = mkdtempSync(join(tmpdir(), 'hotline-compare-'));
    const common = ['--data-generation', 'synthetic', '--data-size', '40000', '--max-table-rows', '3000', '--arch-mlp-bot', '13-32-16',
      '--arch-mlp-top', '32-1', '--arch-sparse-feature-size', '16', '--hot-budget', '1MiB', '--test-freq', '100', '--run-dir', runs];
    for (const policy of [['baseline'], ['fae'], ['slipstream', '--stale-start', '10', '--learning-rate', '0.5']]) {
      const r = spawnSync(process.execPath, [bin, 'train', '--policy', ...policy, ...common], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    }
    const dirs = readdirSync(runs).sort().map((d) => join(runs, d));
    const out = join(runs, 'comparison');
    const r = spawnSync(process.execPath, [bin, 'report', ...dirs, '--out', out], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const page = readFileSync(join(out, 'index.html'), 'utf8');
    assert.match(page, /<td>1\.00x<\/td>/, 'the baseline is the reference');
    const checks = renderInChromium(page, join(artifacts, 'comparison-report.png'));
    assertRendered(checks, ['speedup', 'auc-delta', 'loss', 'auc', 'throughput', 'phases', 'slipstream-drop', 'skew-2', 'hot-inputs-2', 'skew-3', 'hot-inputs-3']);
  });

  it('names a folder that is not a run', () => {
    const r = spawnSync(process.execPath, [bin, 'report', tmpdir()], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /no config\.json, not a hotline run directory/);
  });
});
