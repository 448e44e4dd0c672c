/**
 * The SSD tier's block reads: random 4 KiB blocks from a file larger than the page cache would hold for long, by
 * engine (a pool of threads doing preads, io_uring) and queue depth, with O_DIRECT, and buffered for reference.
 * Repeats interleaved; prints IOPS and MB/s (median and range) and io_uring / threads at each depth; writes
 * bench/out/ssd-io.json.
 *
 *   node --import tsx bench/ssd-io.ts [--dir /tmp] [--gib 4] [--reads 20000] [--depths 1,8,32,64] [--repeats 3]
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { alignedBuffer, BlockFile, blockBytes, type IoEngine, ioEngines } from '../src/io/block-file.ts';
import { Rng } from '../src/util/rng.ts';

const { values } = parseArgs({
  options: {
    dir: { type: 'string', default: '/tmp' }, gib: { type: 'string', default: '4' }, reads: { type: 'string', default: '20000' },
    depths: { type: 'string', default: '1,8,32,64' }, repeats: { type: 'string', default: '3' },
  },
});
const blocks = Math.floor((Number(values.gib) * 2 ** 30) / blockBytes), reads = Number(values.reads), repeats = Number(values.repeats);
const depths = values.depths!.split(',').map(Number), path = join(values.dir!, 'hotline-ssd-io.bin');

// The file, written once in 64 MiB chunks.
const chunk = 16384, buffer = alignedBuffer(chunk), writer = BlockFile.open(path, { create: true, direct: true });
for (let i = 0; i < buffer.length; i++) buffer[i] = i;
for (let from = 0; from < blocks; from += chunk) {
  const n = Math.min(chunk, blocks - from);
  writer.transfer(true, Int32Array.from({ length: n }, (_, i) => from + i), buffer, 'threads', 16);
}
writer.close();
console.log(`${path}: ${blocks.toLocaleString('en-US')} blocks of 4 KiB (${values.gib} GiB); ${reads.toLocaleString('en-US')} random reads a run, ${repeats} repeats interleaved`);

interface Case { engine: IoEngine; depth: number; direct: boolean }
const cases: Case[] = [];
for (const depth of depths) {
  for (const engine of ioEngines()) cases.push({ engine, depth, direct: true });
  cases.push({ engine: 'threads', depth, direct: false });
}
const rng = new Rng(7, 1), into = alignedBuffer(reads), seconds = new Map<Case, number[]>(cases.map((c) => [c, []]));
for (let r = 0; r < repeats; r++) {
  for (const c of cases) {
    const file = BlockFile.open(path, { create: false, direct: c.direct });
    if (c.direct && !file.direct) throw new Error(`${path}: the file system refuses O_DIRECT; give --dir on another one`);
    const order = Int32Array.from({ length: reads }, () => rng.int(blocks)), t0 = process.hrtime.bigint();
    file.transfer(false, order, into, c.engine, c.depth);
    seconds.get(c)!.push(Number(process.hrtime.bigint() - t0) / 1e9);
    file.close();
  }
}
rmSync(path);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const iops = (c: Case) => seconds.get(c)!.map((s) => reads / s);
console.log('\nengine | O_DIRECT | depth | IOPS median (range) | MB/s | vs threads at this depth');
const rows = cases.map((c) => {
  const rates = iops(c), m = median(rates), threads = cases.find((x) => x.engine === 'threads' && x.direct === c.direct && x.depth === c.depth)!;
  const ratio = m / median(iops(threads));
  console.log(`${c.engine} | ${c.direct ? 'yes' : 'no (page cache)'} | ${c.depth} | ${m.toFixed(0)} (${Math.min(...rates).toFixed(0)}-${Math.max(...rates).toFixed(0)}) | ` +
    `${((m * blockBytes) / 1e6).toFixed(1)} | ${c.engine === 'threads' ? '-' : `${ratio.toFixed(2)}x`}`);
  return { ...c, iops: rates, medianIops: m, overThreads: ratio };
});
const here = new URL('.', import.meta.url).pathname;
mkdirSync(join(here, 'out'), { recursive: true });
writeFileSync(join(here, 'out', 'ssd-io.json'), JSON.stringify({ date: new Date().toISOString(), path, blocks, reads, repeats, rows }, null, 2));
