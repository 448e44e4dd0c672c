/** One timed `preprocess` of a file (the child process of bench/preprocess.ts): prints seconds and peak RSS. */
import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { preprocess } from '../src/data/preprocess.ts';

const [input, out] = process.argv.slice(2);
const started = process.hrtime.bigint();
const manifest = await preprocess({
  inputs: [input], out, encoding: { kind: 'vocabulary', minCount: 1 }, chunkBytes: 64 * 2 ** 20, onBadLine: 'error', threads: availableParallelism(),
});
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
console.log(JSON.stringify({ rows: manifest.rows, bytes: statSync(input).size, seconds, maxRssKiB: process.resourceUsage().maxRSS }));
