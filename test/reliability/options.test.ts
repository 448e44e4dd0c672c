// Issue 11, part 5: values a user can mistype are refused with a clear message (the option's own words), and
// each command's --help lists its own options.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { parseFlags } from '../../src/cli/options.ts';
import { trainConfigFrom } from '../../src/cli/train-config.ts';
import { assertRefused, hotline, scratch, tiny } from './cli.ts';

const refusedConfig = (args: string[], message: RegExp) => assert.throws(() => trainConfigFrom(args), message);

describe('mistyped values are refused', () => {
  it('shares outside their range', () => {
    for (const v of ['0', '1', '1.5', '-0.2']) assert.throws(() => parseFlags(['--target-drop', v]), { message: `--target-drop: expected a number in (0, 1), got "${v}"` });
    assert.throws(() => parseFlags(['--sampling-rate', '2']), /--sampling-rate: expected a number in \(0, 1\], got "2"/);
    assert.throws(() => parseFlags(['--test-fraction', '1']), /--test-fraction: expected a number in \[0, 1\), got "1"/);
    assert.throws(() => parseFlags(['--drop-band', '1']), /--drop-band: expected a number in \[0, 1\), got "1"/);
    assert.deepEqual(parseFlags(['--target-drop', '0.3', '--sampling-rate', '1']), { 'target-drop': 0.3, 'sampling-rate': 1 });
  });

  it('--threads far above the cores is refused, above them warned about', () => {
    const cores = availableParallelism();
    refusedConfig(['--threads', '1000', '--num-batches', '1'], new RegExp(`--threads 1000: more than 4 per core of this machine's ${cores} \\(${4 * cores}\\) would only slow the work down`));
    const r = hotline(['train', ...tiny, '--arch-embedding-size', '20-20', '--num-batches', '2', '--threads', String(cores + 1), '--run-dir', '']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^hotline: --threads ${cores + 1} is more than this machine's ${cores} cores: the threads will share them$`, 'm'));
    assertRefused(hotline(['gen', '--rows', '10', '--out', join(scratch('threads'), 'x'), '--threads', '1000']), /--threads 1000: more than 4 per core/);
  });

  it('a fast-tier budget that holds no row', () => {
    refusedConfig(['--policy', 'fae', '--hot-budget', '10', '--data-generation', 'synthetic'], /--hot-budget 10 bytes holds no hot row: one row needs 64 bytes \(16 floats\)/);
    refusedConfig(['--policy', 'hotline', '--hot-budget', '67', '--optimizer', 'adagrad', '--num-batches', '1'], /--hot-budget 67 bytes holds no hot row: one row needs 68 bytes \(16 floats and its Adagrad state\)/);
  });

  it('--storage and its ssd options where they cannot work', () => {
    refusedConfig(['--storage', 'disk', '--num-batches', '1'], /--storage: expected memory, ssd or ssd:DIR, got "disk"/);
    refusedConfig(['--host-budget', '1GiB', '--num-batches', '1'], /--host-budget places rows in front of the SSD: it needs --storage ssd/);
    refusedConfig(['--storage', 'ssd', '--host-cache', 'lru', '--num-batches', '1'], /--host-cache lru caches rows in --host-budget: give it a size/);
    refusedConfig(['--storage', 'ssd', '--run-dir', '', '--num-batches', '1'], /--storage ssd keeps its files in the run directory: with --run-dir '' give a folder, ssd:DIR/);
    assert.deepEqual(trainConfigFrom(['--storage', 'ssd:rel/tables', '--num-batches', '1']).storage, {
      kind: 'ssd', dir: join(process.cwd(), 'rel/tables'), readAhead: 2, hostBudget: 0, hostCache: 'placed', engine: 'auto', queueDepth: 64,
    });
    const d = scratch('ssd-taken'), args = ['train', ...tiny, '--arch-embedding-size', '20-20', '--num-batches', '2', '--run-dir', '', '--storage', `ssd:${d}`];
    assert.equal(hotline(args).status, 0);
    assertRefused(hotline(args), new RegExp(`--storage ssd:${d}: the folder holds another run's tables \\(${join(d, 'tables.json')}\\); give an empty folder`));
  });

  it('--shuffle-buffer where it would be ignored', () => {
    const ds = ['--dataset', '/data/ds', '--shuffle-buffer', '1000'];
    refusedConfig([...ds, '--num-batches', '5'], /--shuffle-buffer streams every row of the training split: it cannot take --num-batches/);
    refusedConfig([...ds, '--no-shuffle'], /--shuffle-buffer is a shuffle: it cannot take --no-shuffle/);
    refusedConfig(['--shuffle-buffer', '1000', '--data-generation', 'synthetic'], /--shuffle-buffer streams a dataset folder: it needs --dataset DIR/);
  });

  it('preprocess: --max-ind-range beyond int32 ids, or with --min-count', () => {
    const d = scratch('mir'), input = join(d, 'x.tsv');
    writeFileSync(input, `1${'\t1'.repeat(13)}${'\ta'.repeat(26)}\n`);
    assertRefused(hotline(['preprocess', input, '--out', join(d, 'o'), '--max-ind-range', '2147483648']), /--max-ind-range: at most 2147483647 \(ids are int32\), got 2147483648/);
    assertRefused(hotline(['preprocess', input, '--out', join(d, 'o'), '--max-ind-range', '100', '--min-count', '5']), /--max-ind-range hashes the values and --min-count counts them: give one of the two/);
  });

  it('a .gz given to profile works; profile names tables by the dataset\'s columns', () => {
    const d = scratch('profile-gz'), tsv = join(d, 'rows.tsv');
    assert.equal(hotline(['gen', '--rows', '3000', '--format', 'tsv', '--out', tsv, '--max-table-rows', '500']).status, 0);
    writeFileSync(`${tsv}.gz`, gzipSync(readFileSync(tsv)));
    const gz = hotline(['profile', `${tsv}.gz`, '--out', join(d, 'p1')]);
    assert.equal(gz.status, 0, gz.stderr);
    assert.match(gz.stdout, /^C26 \| /m);
    const csv = join(d, 'shops.csv'), schema = join(d, 'schema.json'), ds = join(d, 'ds');
    writeFileSync(csv, `clicked,shop,item\n${Array.from({ length: 300 }, (_, i) => `${i % 3 === 0 ? 1 : 0},s${i % 11},i${i % 37}`).join('\n')}\n`);
    writeFileSync(schema, JSON.stringify({ delimiter: ',', header: true, label: { column: 'clicked', positive: ['1'], negative: ['0'] }, dense: [], categorical: ['shop', 'item'] }));
    assert.equal(hotline(['preprocess', csv, '--out', ds, '--format', `schema:${schema}`]).status, 0);
    const named = hotline(['profile', ds, '--out', join(d, 'p2')]);
    assert.equal(named.status, 0, named.stderr);
    assert.match(named.stdout, /^shop \| 12 \| /m);
    assert.match(named.stdout, /^item \| 38 \| /m);
  });

  it("each command's --help lists its own options", () => {
    const expected: Record<string, string[]> = {
      preprocess: ['--format NAME', '--min-count N', '--max-ind-range N', '--chunk-size SIZE', '--on-bad-line error|skip', '--threads N'],
      gen: ['--rows N', '--format binary|tsv', '--zipf S', '--max-table-rows N'],
      inspect: ['--verify'],
      report: ['--out DIR'],
      profile: ['--budget SIZE', '--sampling-rate R'],
      papers: ['--rows N', '--out DIR', '--threads N'],
      train: ['--mini-batch-size', '--shuffle-buffer', '--checkpoint-every'],
    };
    for (const [command, options] of Object.entries(expected)) {
      const r = hotline([command, '--help']);
      assert.equal(r.status, 0, r.stderr);
      for (const o of options) assert.ok(r.stdout.includes(o), `${command} --help lacks ${o}:\n${r.stdout}`);
      if (command !== 'train') assert.ok(r.stdout.startsWith(`usage: hotline ${command} `), r.stdout);
    }
  });
});
