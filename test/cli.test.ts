// The hotline command end to end: flags, the JSON config alternative, clear errors, the run directory.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseFlags, readConfigFile, UsageError } from '../src/cli/options.ts';
import { trainConfigFrom } from '../src/cli/train-config.ts';

const bin = new URL('../bin/hotline.mjs', import.meta.url).pathname;
const small = ['--arch-mlp-bot', '13-32-8', '--arch-mlp-top', '16-1', '--arch-sparse-feature-size', '8'];

function hotline(args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
}

describe('options', () => {
  it('parses dlrm-style flags, --name=value and --no-flag', () => {
    const v = parseFlags(['--mini-batch-size', '256', '--learning-rate=0.5', '--optimizer', 'adagrad', '--no-shuffle']);
    assert.deepEqual(v, { 'mini-batch-size': 256, 'learning-rate': 0.5, optimizer: 'adagrad', shuffle: false });
  });

  it('rejects bad values naming the flag', () => {
    assert.throws(() => parseFlags(['--mini-batch-size', '12x']), /--mini-batch-size: expected a positive integer, got "12x"/);
    assert.throws(() => parseFlags(['--optimizer', 'adam']), /--optimizer: expected one of sgd, adagrad/);
    assert.throws(() => parseFlags(['--learning-rate', '0']), /--learning-rate: expected a number > 0/);
    assert.throws(() => parseFlags(['--frobnicate', '1']), /unknown option --frobnicate/);
    assert.throws(() => parseFlags(['--seed']), /--seed: missing value/);
  });

  it('validates a JSON config naming the file and key; flags override it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hotline-cfg-'));
    const good = join(dir, 'good.json'), bad = join(dir, 'bad.json'), unknown = join(dir, 'unknown.json'), broken = join(dir, 'broken.json');
    writeFileSync(good, JSON.stringify({ 'mini-batch-size': 64, 'learning-rate': 0.2, 'data-generation': 'random', 'num-batches': 5 }));
    writeFileSync(bad, JSON.stringify({ 'mini-batch-size': -3 }));
    writeFileSync(unknown, JSON.stringify({ 'mini_batch_size': 3 }));
    writeFileSync(broken, '{ "seed": ');
    const config = trainConfigFrom(['--config', good, '--learning-rate', '0.3']);
    assert.equal(config.batchSize, 64);
    assert.equal(config.learningRate, 0.3);
    assert.throws(() => readConfigFile(bad), (e: Error) => e instanceof UsageError && e.message === `${bad}: "mini-batch-size": expected a positive integer, got -3`);
    assert.throws(() => readConfigFile(unknown), /unknown option "mini_batch_size"/);
    assert.throws(() => readConfigFile(broken), (e: Error) => e instanceof UsageError && e.message.startsWith(`${broken}: `));
  });

  it('checks the architecture strings', () => {
    assert.throws(() => trainConfigFrom(['--arch-mlp-bot', '13-x-16', '--num-batches', '1']), /--arch-mlp-bot: expected positive integers/);
  });
});

describe('hotline command', () => {
  it('trains on random data and writes config, metrics and summary to the run directory', () => {
    const runs = mkdtempSync(join(tmpdir(), 'hotline-runs-'));
    const r = hotline(['train', ...small, '--arch-embedding-size', '50-60', '--num-batches', '30', '--mini-batch-size', '16', '--run-dir', runs]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /samples\/s/);
    const [dir] = readdirSync(runs);
    const files = readdirSync(join(runs, dir)).sort();
    assert.deepEqual(files, ['config.json', 'environment.json', 'metrics.jsonl', 'summary.json']);
    const config = JSON.parse(readFileSync(join(runs, dir, 'config.json'), 'utf8'));
    assert.equal(config.batchSize, 16);
    const summary = JSON.parse(readFileSync(join(runs, dir, 'summary.json'), 'utf8'));
    assert.equal(summary.steps, 30);
    const metrics = readFileSync(join(runs, dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(metrics.at(-1).step, 30);
  });

  it('gen, inspect, profile and train on a dataset folder', () => {
    const d = mkdtempSync(join(tmpdir(), 'hotline-ds-'));
    const ds = join(d, 'ds');
    assert.equal(hotline(['gen', '--rows', '20000', '--out', ds, '--max-table-rows', '5000']).status, 0);
    const inspect = hotline(['inspect', ds, '--verify']);
    assert.match(inspect.stdout, /20,000 rows, .* checksums verified/);
    const profile = hotline(['profile', ds, '--budget', '1MiB', '--out', join(d, 'profile')]);
    assert.equal(profile.status, 0, profile.stderr);
    assert.deepEqual(readdirSync(join(d, 'profile')).sort(), ['access-cdf.png', 'access-cdf.svg', 'hot-inputs-vs-budget.png', 'hot-inputs-vs-budget.svg', 'profile.json']);
    const train = hotline(['train', '--dataset', ds, ...small, '--run-dir', '', '--mini-batch-size', '256']);
    assert.equal(train.status, 0, train.stderr);
    assert.match(train.stdout, /test AUC 0\.\d+/);
  });

  it('the demo learns the planted signal (a short version)', () => {
    const r = hotline(['demo', '--data-size', '30000', '--run-dir', '', '--threads', '1']);
    assert.equal(r.status, 0, r.stderr);
    const auc = Number(/test AUC ([0-9.]+)/.exec(r.stdout)?.[1]);
    assert.ok(auc > 0.58, `demo AUC ${auc}`); // 0.5 is chance; the full demo (300k rows) reaches about 0.77
  });

  it('reports bad usage and bad data in one line, exit code 2, no stack trace', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hotline-bad-'));
    const file = join(dir, 'train.txt');
    const good = ['1', ...Array(13).fill('3'), ...Array(26).fill('a1b2c3d4')].join('\t');
    writeFileSync(file, `${good}\n${good.replace('a1b2c3d4', 'zz')}\n`);
    const cases: [string[], RegExp][] = [
      [['train', '--mini-batch-size', 'abc'], /^hotline: --mini-batch-size: expected a positive integer, got "abc"\n$/],
      [['fly'], /^hotline: unknown command 'fly'\n$/],
      [['train', '--data-generation', 'dataset', '--raw-data-file', file, '--run-dir', ''], new RegExp(`^hotline: ${file}:2: field C1: expected a hex hash of up to 8 digits, got 'zz'\\n$`)],
    ];
    for (const [args, message] of cases) {
      const r = hotline(args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
  });
});
