/**
 * Seed corpora for the fuzz targets, from real-looking Criteo lines (a synthetic set with Kaggle's
 * cardinalities, as `hotline gen --format tsv` writes it) with the variants the parser meets: unlabelled,
 * CRLF, missing and negative values, an unterminated last line. Each seed starts with its target's option
 * bytes (see each target's header).   node --import tsx bench/fuzz/seeds.ts OUT_DIR
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { criteoTsvBytes } from '../../src/data/formats/criteo-writer.ts';
import { generateSynthetic } from '../../src/data/synthetic.ts';
import { presets } from '../../src/model/arch.ts';

const out = process.argv[2];
if (!out) throw new Error('usage: seeds.ts OUT_DIR');
const data = generateSynthetic({ rows: 64, tableRows: presets.kaggle.tableRows, denseFeatures: 13, zipf: 1.05, seed: 11 });
const lines = Buffer.from(criteoTsvBytes(data)).toString('latin1').split('\n').slice(0, -1);

const seeds = new Map<string, Buffer[]>([['criteo', []], ['keys', []], ['line-ends', []], ['scan', []]]);
const add = (target: string, ...parts: (Buffer | number[])[]) => seeds.get(target)!.push(Buffer.concat(parts.map((p) => Buffer.from(p))));

// The variants of a group of lines: as written, unlabelled, CRLF, some fields empty or negative, unterminated.
const variants = (group: string[]): [boolean, string][] => [
  [true, group.join('\n') + '\n'],
  [false, group.map((l) => l.slice(l.indexOf('\t') + 1)).join('\n') + '\n'],
  [true, group.join('\r\n') + '\r\n'],
  [true, group.map((l) => l.split('\t').map((f, i) => (i % 5 === 2 ? '' : i % 7 === 3 ? `-${f}` : f)).join('\t')).join('\n') + '\n'],
  [true, group.join('\n')],
];
for (const size of [1, 2, 5]) {
  for (let at = 0; at + size <= 20; at += size) {
    for (const [labelled, text] of variants(lines.slice(at, at + size))) {
      for (const capacity of [0, 1, 2]) add('criteo', [(labelled ? 1 : 0) | (capacity << 1)], Buffer.from(text, 'latin1'));
      add('line-ends', [at, size * 7], Buffer.from(text, 'latin1'));
    }
  }
}

// keys: one table's ids as 4-byte keys (width code 2), in chunks of 16 or 64, min count 1 or 2.
for (const t of [0, 2, 9, 20]) {
  const keys = Buffer.from(data.categorical[t].buffer, data.categorical[t].byteOffset, data.categorical[t].byteLength);
  add('keys', [2, 15, 0], keys);
  add('keys', [2, 63, 1], keys);
}

// scan: ids with their table's rows, dense values and labels; small (the bytes themselves) and large (planted).
const int64 = (n: number) => { const b = Buffer.alloc(8); b.writeBigInt64LE(BigInt(n)); return b; };
const bytesOf = (a: Int32Array | Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
for (const t of [0, 3, 25]) add('scan', [0], int64(presets.kaggle.tableRows[t]), bytesOf(data.categorical[t]));
add('scan', [1], bytesOf(data.dense.subarray(0, 256)));
add('scan', [2], bytesOf(data.labels));
add('scan', [0x1e], int64(1000), [0xff, 0xff, 0x03], [0x10, 0, 1], bytesOf(Int32Array.of(-1)));
add('scan', [0x1c], [0, 0, 2], [0, 0, 1], bytesOf(Float32Array.of(Infinity)), [5, 0, 0], bytesOf(Float32Array.of(NaN)));
add('scan', [0x1d], [0, 0, 3], [0xff, 0xff, 2], bytesOf(Float32Array.of(2)));

for (const [target, list] of seeds) {
  mkdirSync(join(out, target), { recursive: true });
  list.forEach((seed, i) => writeFileSync(join(out, target, `seed-${String(i).padStart(3, '0')}`), seed));
}
console.log([...seeds].map(([t, l]) => `${t}: ${l.length} seeds`).join(', '));
