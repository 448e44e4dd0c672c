// Issue 11, part 1: a damaged or inconsistent dataset never reaches the kernels. Each case damages a copy of a
// valid dataset folder one way and asserts the message that names the file, the column or field and the row.
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { readBinaryDataset, readManifest } from '../../src/data/binary-dataset.ts';
import { DataError } from '../../src/util/errors.ts';
import { generateSynthetic } from '../../src/data/synthetic.ts';
import { BinaryDatasetWriter } from '../../src/data/write-binary.ts';
import { assertRefused, hotline, literal, scratch, tiny } from './cli.ts';

const rows = 2000, tableRows = [176, 3, 50];
let root = '', valid = '';

/** A copy of the valid dataset, damaged by `damage(dir)`. */
function damaged(name: string, damage: (dir: string) => void): string {
  const dir = join(root, name);
  cpSync(valid, dir, { recursive: true });
  damage(dir);
  return dir;
}

function editManifest(dir: string, edit: (m: Record<string, any>) => void): void {
  const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  edit(m);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
}

/** Writes `values` at element `index` of a file of 4-byte values. */
function poke(file: string, index: number, values: Int32Array | Float32Array): void {
  const bytes = readFileSync(file);
  bytes.set(new Uint8Array(values.buffer), index * 4);
  writeFileSync(file, bytes);
}

function refuses(dir: string, message: RegExp): void {
  assert.throws(() => readBinaryDataset(dir), (e: Error) => e instanceof DataError && message.test(e.message), `expected ${message}`);
}

before(async () => {
  root = scratch('damaged');
  valid = join(root, 'valid');
  const writer = new BinaryDatasetWriter(valid, rows, 13, tableRows.length);
  writer.append(generateSynthetic({ rows, tableRows, denseFeatures: 13, zipf: 1.1, seed: 5 }));
  await writer.finish({ cardinalities: tableRows, encoding: { kind: 'synthetic', zipf: 1.1, seed: 5 }, source: { inputs: [], lines: rows, skipped: {} } });
});

describe('a damaged dataset is refused on load, naming file, column and row', () => {
  it('reads the valid dataset', () => {
    assert.equal(readBinaryDataset(valid).data.rows, rows);
  });

  it('an id past its table (180 in a 176-row table)', () => {
    const dir = damaged('past-end', (d) => poke(join(d, 'categorical.i32'), 10, Int32Array.of(180)));
    refuses(dir, literal(`${join(dir, 'categorical.i32')}: column C1, row 10: id 180 is outside the table's 176 rows`));
  });

  it('a negative id, in the second column', () => {
    const dir = damaged('negative', (d) => poke(join(d, 'categorical.i32'), rows + 1999, Int32Array.of(-3)));
    refuses(dir, literal(`${join(dir, 'categorical.i32')}: column C2, row 1999: id -3 is outside the table's 3 rows`));
  });

  it('a label other than 0 or 1, and a dense value that is not finite', () => {
    refuses(damaged('label', (d) => poke(join(d, 'labels.f32'), 7, Float32Array.of(0.5))), /labels\.f32: row 7: label 0\.5 is not 0 or 1$/);
    refuses(damaged('dense', (d) => poke(join(d, 'dense.f32'), 13 * 4 + 2, Float32Array.of(NaN))), /dense\.f32: row 4, column I3: NaN is not a finite number$/);
  });

  it('a manifest whose rows, cardinalities or column names were edited', () => {
    refuses(damaged('rows', (d) => editManifest(d, (m) => (m.rows = 2001))), /manifest\.json: "files\.labels\.bytes": 8000 bytes, but the rows and columns the manifest gives need 8004/);
    refuses(damaged('card', (d) => editManifest(d, (m) => (m.cardinalities[0] = 10))), /column C1, row \d+: id \d+ is outside the table's 10 rows/);
    refuses(damaged('card-count', (d) => editManifest(d, (m) => m.cardinalities.pop())), /"cardinalities": expected one table size per categorical column \(3\), got \[176,3\]/);
    refuses(damaged('card-type', (d) => editManifest(d, (m) => (m.cardinalities[1] = '3'))), /"cardinalities": C2: expected 1 to 2147483647 rows, got "3"/);
    refuses(damaged('dense-names', (d) => editManifest(d, (m) => m.denseNames.pop())), /"files\.dense\.bytes": 104000 bytes, but the rows and columns the manifest gives need 96000/);
    refuses(damaged('names-twice', (d) => editManifest(d, (m) => (m.categoricalNames[2] = 'C1'))), /"categoricalNames": column 'C1' appears twice/);
    refuses(damaged('path', (d) => editManifest(d, (m) => (m.files.labels.path = '../valid/labels.f32'))), /"files\.labels\.path": expected a file name inside the dataset folder/);
    refuses(damaged('per-input', (d) => editManifest(d, (m) => (m.source.rowsPerInput = [1000, 999]))), /"source\.rowsPerInput": expected row counts adding up to the 2000 rows/);
    refuses(damaged('not-object', (d) => writeFileSync(join(d, 'manifest.json'), '[1, 2]')), /manifest\.json: format undefined version undefined, expected hotline-dataset version 1/);
    refuses(damaged('not-json', (d) => writeFileSync(join(d, 'manifest.json'), '{"rows": ')), /manifest\.json: not valid JSON/);
  });

  it('a file cut short, or missing', () => {
    const cut = damaged('cut', (d) => truncateSync(join(d, 'dense.f32'), 1000));
    refuses(cut, literal(`${join(cut, 'dense.f32')}: 1000 bytes, the manifest says 104000`));
    const gone = damaged('gone', (d) => writeFileSync(join(d, 'labels.f32'), ''));
    refuses(gone, literal(`${join(gone, 'labels.f32')}: 0 bytes, the manifest says 8000`));
    const folder = damaged('folder', (d) => {
      rmSync(join(d, 'dense.f32'));
      mkdirSync(join(d, 'dense.f32'));
    });
    refuses(folder, literal(`${join(folder, 'dense.f32')}: not a file (the manifest says 104000 bytes)`));
    const missing = damaged('missing', (d) => rmSync(join(d, 'categorical.i32')));
    refuses(missing, literal(`${join(missing, 'categorical.i32')}: missing, the manifest says 24000`));
  });

  it('the checksums are verified on request (inspect --verify, resume), not by every load', () => {
    const dir = damaged('flip-in-range', (d) => poke(join(d, 'categorical.i32'), 5, Int32Array.of(1)));
    assert.equal(readBinaryDataset(dir).data.rows, rows);
    assert.throws(() => readBinaryDataset(dir, true), /categorical\.i32: checksum differs from the manifest/);
  });

  it('train and inspect exit 2 with the message; a flipped byte no longer segfaults', () => {
    const dir = damaged('flipped', (d) => {
      const bytes = readFileSync(join(d, 'categorical.i32'));
      bytes[4 * 1000 + 3] ^= 0x7f; // the high byte of row 1000's C1 id
      writeFileSync(join(d, 'categorical.i32'), bytes);
    });
    const message = literal(`${join(dir, 'categorical.i32')}: column C1, row 1000: id `);
    assertRefused(hotline(['train', '--dataset', dir, ...tiny, '--run-dir', '']), message);
    assertRefused(hotline(['inspect', dir]), message);
  });

  it('the streaming loader checks every block it reads', () => {
    const dir = damaged('streamed', (d) => poke(join(d, 'categorical.i32'), 2 * rows + 1500, Int32Array.of(50)));
    const r = hotline(['train', '--dataset', dir, ...tiny, '--run-dir', '', '--shuffle-buffer', '100']);
    assertRefused(r, literal(`${join(dir, 'categorical.i32')}: column C3, row 1500: id 50 is outside the table's 50 rows`));
  });

  it('multi-hot bags: ids and offsets checked', () => {
    const d = scratch('bags'), csv = join(d, 'tags.csv'), schema = join(d, 'schema.json'), out = join(d, 'ds');
    const lines = ['clicked,item,tags', ...Array.from({ length: 40 }, (_, i) => `${i % 2},${i % 7},${['a|b', 'c', '', 'a|c|d'][i % 4]}`)];
    writeFileSync(csv, `${lines.join('\n')}\n`);
    writeFileSync(schema, JSON.stringify({ delimiter: ',', header: true, label: { column: 'clicked', positive: ['1'], negative: ['0'] }, dense: [], categorical: ['item', 'tags'], multiHot: { tags: '|' } }));
    const made = hotline(['preprocess', csv, '--out', out, '--format', `schema:${schema}`]);
    assert.equal(made.status, 0, made.stderr);
    const m = readManifest(out), bag = m.bags!.tags;
    const badId = join(d, 'bad-id');
    cpSync(out, badId, { recursive: true });
    poke(join(badId, bag.ids.path), 3, Int32Array.of(m.cardinalities[1] + 2));
    refuses(badId, new RegExp(`${bag.ids.path}: column tags, row 3: id ${m.cardinalities[1] + 2} is outside the table's ${m.cardinalities[1]} rows`));
    const badOffsets = join(d, 'bad-offsets');
    cpSync(out, badOffsets, { recursive: true });
    const offsets = readFileSync(join(badOffsets, bag.offsets.path));
    new Float64Array(offsets.buffer, offsets.byteOffset, 41)[5] = 1e9;
    writeFileSync(join(badOffsets, bag.offsets.path), offsets);
    refuses(badOffsets, new RegExp(`${bag.offsets.path}: row 5: offset 1000000000 is not a whole number rising within the \\d+ ids`));
  });
});
