// Issue 11, part 4: ordinary OS errors get one line naming what was being done, the path and the OS's words, on
// every command; sizes that cannot fit are refused, naming the flag, before anything is allocated.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { assertRefused, hotline, literal, scratch, tiny } from './cli.ts';

const tableArgs = ['--arch-embedding-size', '50-60', '--num-batches', '2'];

describe('OS errors in one line', () => {
  const d = scratch('os');
  const file = join(d, 'a-file');
  writeFileSync(file, 'not a folder\n');

  it('ENOENT: a missing input, config, dataset or run directory', () => {
    const missing = join(d, 'missing');
    assertRefused(hotline(['preprocess', missing, '--out', join(d, 'out')]), literal(`cannot read ${missing}: no such file or directory (ENOENT)`));
    assertRefused(hotline(['train', '--config', missing]), literal(`cannot open ${missing}: no such file or directory (ENOENT)`));
    assertRefused(hotline(['train', '--dataset', missing, ...tiny, '--run-dir', '']), literal(`${missing}: not a hotline dataset (no manifest.json)`));
    assertRefused(hotline(['train', '--resume', missing]), literal(`${missing}: no config.json, not a hotline run directory`));
    assertRefused(hotline(['report', missing]), literal(`${missing}: no config.json, not a hotline run directory`));
  });

  it('EISDIR: a folder where a file is expected', () => {
    assertRefused(hotline(['preprocess', d, '--out', join(d, 'out')]), literal(`${d}: a folder, not a file`));
    assertRefused(hotline(['train', '--config', d]), literal(`cannot read ${d}: illegal operation on a directory (EISDIR)`));
  });

  it('ENOTDIR: an output under a file', () => {
    assertRefused(hotline(['train', ...tiny, ...tableArgs, '--run-dir', join(file, 'runs')]), literal(`cannot create the folder ${join(file, 'runs')}`));
    assertRefused(hotline(['gen', '--rows', '100', '--out', join(file, 'ds')]), literal(`cannot create the folder ${file}: file already exists (EEXIST)`));
    assertRefused(hotline(['preprocess', file, '--out', join(file, 'ds')]), literal(`cannot create the folder ${file}: file already exists (EEXIST)`));
    assertRefused(hotline(['profile', '--data-generation', 'synthetic', '--data-size', '2000', '--out', join(file, 'p')]), literal(`cannot create the folder ${join(file, 'p')}: not a directory (ENOTDIR)`));
    const runs = join(d, 'runs');
    assert.equal(hotline(['train', ...tiny, ...tableArgs, '--run-dir', runs]).status, 0);
    const run = join(runs, readdirSync(runs)[0]);
    assertRefused(hotline(['report', run, '--out', join(file, 'report')]), literal(`cannot create the folder ${join(file, 'report')}: not a directory (ENOTDIR)`));
  });

  it('EACCES: a folder the user may not write, a file it may not read', (t) => {
    const locked = join(d, 'locked');
    mkdirSync(locked);
    const input = join(locked, 'secret.tsv');
    writeFileSync(input, `1${'\t1'.repeat(13)}${'\ta'.repeat(26)}\n`);
    // root reads and writes anything: the refusals are checked as the unprivileged user nobody.
    const root = process.getuid?.() === 0, as = root ? { uid: 65534, gid: 65534 } : {};
    chmodSync(input, root ? 0o600 : 0o000);
    chmodSync(locked, root ? 0o755 : 0o555);
    chmodSync(d, 0o777);
    if (spawnSync(process.execPath, ['-e', '0'], { ...as, cwd: d }).status !== 0 || hotline(['--help'], as).status !== 0) {
      t.skip('the project cannot run as user nobody here');
      return;
    }
    const out = join(locked, 'out');
    assertRefused(hotline(['preprocess', input, '--out', join(d, 'elsewhere')], as), literal(`cannot open ${input}: permission denied (EACCES)`));
    assertRefused(hotline(['gen', '--rows', '100', '--out', out], as), literal(`permission denied (EACCES)`));
    assertRefused(hotline(['gen', '--rows', '100', '--format', 'tsv', '--out', out], as), literal(`permission denied (EACCES)`));
    assertRefused(hotline(['train', ...tiny, ...tableArgs, '--run-dir', locked], as), literal(`cannot create the folder ${locked}/`));
  });

  it('ENOSPC: a full disk', (t) => {
    const full = join(d, 'full');
    mkdirSync(full);
    if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', full]).status !== 0) {
      t.skip('cannot mount a small tmpfs here (needs root)');
      return;
    }
    after(() => spawnSync('umount', [full]));
    const tsv = join(d, 'rows.tsv');
    assert.equal(hotline(['gen', '--rows', '2000', '--format', 'tsv', '--out', tsv]).status, 0);
    assertRefused(hotline(['gen', '--rows', '100000', '--out', join(full, 'ds')]), /cannot write to .*full\/ds.*: no space left on device \(ENOSPC\)/);
    assertRefused(hotline(['gen', '--rows', '100000', '--format', 'tsv', '--out', join(full, 'rows.tsv')]), /cannot write to .*full\/rows\.tsv.*: no space left on device \(ENOSPC\)/);
    assertRefused(hotline(['preprocess', tsv, '--out', join(full, 'pp')]), /cannot write to .*full\/pp.*: no space left on device \(ENOSPC\)/);
    const r = hotline(['train', ...tiny, '--arch-embedding-size', '50000-5', '--num-batches', '3', '--run-dir', full, '--checkpoint-every', '1']);
    assertRefused(r, /cannot write to .*full\/.*: no space left on device \(ENOSPC\)/);
  });

  it('EMFILE: an open-file limit too low to start', () => {
    const r = spawnSync('bash', ['-c', `ulimit -n 30 && exec "${process.execPath}" "${new URL('../../bin/hotline.mjs', import.meta.url).pathname}" --help`], { encoding: 'utf8' });
    assertRefused({ status: r.status, stdout: r.stdout, stderr: r.stderr }, /the open-file limit is 30 \(ulimit -n\); hotline needs at least 128/);
  });
});

describe('sizes that cannot fit are refused before allocating', () => {
  it('a table set, a layer, a batch', () => {
    assertRefused(hotline(['train', '--num-batches', '1', '--arch-embedding-size', '1000000000000-10', '--run-dir', '']),
      /--arch-embedding-size: table 1 has 1,000,000,000,000 rows x 16, more than the 4,294,967,295 floats one table can hold/);
    assertRefused(hotline(['train', '--num-batches', '1', '--arch-embedding-size', '250000000-250000000-250000000', '--run-dir', '']),
      /--arch-embedding-size: the embedding tables need 44\.7 GiB; this machine has [\d.]+ GiB of memory/);
    assertRefused(hotline(['train', '--num-batches', '1', '--arch-mlp-bot', '13-100000000-16', '--run-dir', '']),
      /--test-mini-batch-size: the activations of a batch of 4,096 \([\d.]+ MiB a sample, mostly the 100,000,000-wide layer of --arch-mlp-bot\) need [\d.]+ TiB; this machine has/);
    const d = scratch('hashed'), tsv = join(d, 'rows.tsv'), ds = join(d, 'ds');
    assert.equal(hotline(['gen', '--rows', '500', '--format', 'tsv', '--out', tsv]).status, 0);
    assert.equal(hotline(['preprocess', tsv, '--out', ds, '--max-ind-range', '2147483647']).status, 0);
    assertRefused(hotline(['profile', ds, '--out', join(d, 'p')]), literal(`${ds}: its tables have 55,834,574,822 rows; profiling keeps a count per row (208.0 GiB), more than this machine's`));
    assertRefused(hotline(['train', '--num-batches', '1', '--mini-batch-size', '100000000', '--run-dir', '']),
      /--mini-batch-size: the activations of a batch of 100,000,000 \([\d.]+ KiB a sample\) need [\d.]+ TiB; this machine has/);
  });
});
