// Issue 11, part 3 (resume): a run resumes only on the data it trained on (a fingerprint recorded at its start, and
// the dataset's checksums), and a config.json edited by hand is refused as a bad --config is.
import assert from 'node:assert/strict';
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { assertRefused, hotline, literal, scratch, tiny } from './cli.ts';

let d = '', dataset = '', run = '';

/** A copy of the finished run, so that each case damages its own. */
function runCopy(name: string): string {
  const copy = join(d, name);
  cpSync(run, copy, { recursive: true });
  return copy;
}

function editConfig(dir: string, edit: (c: Record<string, any>) => void): void {
  const c = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  edit(c);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(c));
}

before(() => {
  d = scratch('resume');
  dataset = join(d, 'ds');
  assert.equal(hotline(['gen', '--rows', '3000', '--max-table-rows', '300', '--out', dataset]).status, 0);
  const runs = join(d, 'runs');
  const r = hotline(['train', '--dataset', dataset, ...tiny, '--run-dir', runs, '--checkpoint-every', '5', '--num-batches', '10']);
  assert.equal(r.status, 0, r.stderr);
  run = join(runs, readdirSync(runs)[0]);
});

describe('resume checks what it resumes', () => {
  it('resumes the run as it is', () => {
    const r = hotline(['train', '--resume', runCopy('as-is')]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /resumed from .*step-0000000010 at step 10/);
  });

  it('refuses other data, naming both fingerprints', () => {
    const copy = runCopy('other-data');
    const original = join(d, 'ds-original');
    cpSync(dataset, original, { recursive: true });
    try {
      rmSync(dataset, { recursive: true });
      assert.equal(hotline(['gen', '--rows', '3000', '--max-table-rows', '300', '--seed', '9', '--out', dataset]).status, 0);
      const r = hotline(['train', '--resume', copy]);
      assertRefused(r, new RegExp(`${copy}: the run trained on ${dataset} \\(3,000 rows, manifest ([0-9a-f]{16})\\); the data is now ${dataset} \\(3,000 rows, manifest (?!\\1)[0-9a-f]{16}\\)\\. Resume needs the same data`));
    } finally {
      rmSync(dataset, { recursive: true, force: true });
      cpSync(original, dataset, { recursive: true });
    }
  });

  it('verifies the dataset against its checksums (a change within the ids\' range)', () => {
    const copy = runCopy('flipped'), bytes = readFileSync(join(dataset, 'labels.f32'));
    const flipped = Buffer.from(bytes);
    flipped.writeFloatLE(1 - flipped.readFloatLE(40), 40);
    writeFileSync(join(dataset, 'labels.f32'), flipped);
    try {
      assertRefused(hotline(['train', '--resume', copy]), literal(`${join(dataset, 'labels.f32')}: checksum differs from the manifest (labels)`));
    } finally {
      writeFileSync(join(dataset, 'labels.f32'), bytes);
    }
  });

  it('a config.json edited to wrong types is refused like a bad --config', () => {
    const typed = runCopy('typed');
    editConfig(typed, (c) => (c.options['mini-batch-size'] = 'abc'));
    assertRefused(hotline(['train', '--resume', typed]), literal(`${join(typed, 'config.json')}: "options": "mini-batch-size": expected a positive integer, got "abc"`));
    const unknown = runCopy('unknown');
    editConfig(unknown, (c) => (c.options.frobnicate = 1));
    assertRefused(hotline(['train', '--resume', unknown]), literal(`${join(unknown, 'config.json')}: "options": unknown option "frobnicate"`));
    const copy = runCopy('resolved');
    editConfig(copy, (c) => (c.batchSize = 7));
    assertRefused(hotline(['train', '--resume', copy]), literal(`${join(copy, 'config.json')}: "batchSize" is 7, but the run's "options" give 128 (edit "options", not the resolved copy)`));
    const broken = runCopy('broken');
    writeFileSync(join(broken, 'config.json'), '{"options": ');
    assertRefused(hotline(['train', '--resume', broken]), literal(`${join(broken, 'config.json')}: not valid JSON`));
  });

  it('a raw TSV run refuses a changed file', () => {
    const tsv = join(d, 'rows.tsv'), runs = join(d, 'tsv-runs');
    assert.equal(hotline(['gen', '--rows', '1000', '--format', 'tsv', '--max-table-rows', '100', '--out', tsv]).status, 0);
    assert.equal(hotline(['train', '--data-generation', 'dataset', '--raw-data-file', tsv, ...tiny, '--run-dir', runs, '--checkpoint-every', '3', '--num-batches', '3']).status, 0);
    writeFileSync(tsv, readFileSync(tsv, 'utf8').split('\n').slice(1).join('\n'));
    const r = hotline(['train', '--resume', join(runs, readdirSync(runs)[0])]);
    assertRefused(r, /the run trained on .*rows\.tsv \([\d,]+ bytes, SHA-256 [0-9a-f]{16}\); the data is now .*rows\.tsv \([\d,]+ bytes, SHA-256 [0-9a-f]{16}\)\. Resume needs the same data/);
  });
});
