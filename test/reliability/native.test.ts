// The native side of issue 11: the embedding kernels' bounds check (on for the whole suite, npm test sets
// HOTLINE_BOUNDS_CHECK=1), the dataset range scans against their TypeScript reference, the Criteo parser on
// numbers too large to be finite, and the inputs the fuzz targets (bench/fuzz) found, fed through the addon.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { nativeScans, typescriptScans } from '../../src/data/scan.ts';
import { criteoCategorical, criteoDense, parseCriteoLines } from '../../src/data/formats/criteo-tsv.ts';
import type { Bags, SlotLayout, SparseUpdate } from '../../src/kernels/kernels.ts';
import { loadAddon, NativeKernels, setBoundsCheck } from '../../src/kernels/native.ts';
import { Rng } from '../../src/util/rng.ts';
import { jaggedOfBags } from '../helpers.ts';

const root = new URL('../../', import.meta.url).pathname;
const loaded = loadAddon();
const skip = loaded instanceof Error ? loaded.message : false;
const addon = loaded as Exclude<typeof loaded, Error>;
// The data pipeline's bindings (typed in src/data/fast-path.ts and chunks.ts).
const data = loaded as unknown as {
  parseCriteo(bytes: Uint8Array, labelled: boolean, labels: Float32Array, dense: Float32Array, keys: Float64Array[]): number;
  countLineEnds(bytes: Uint8Array): number;
};

describe('native bounds check', { skip }, () => {
  const kernels = new NativeKernels(addon);
  const engine = kernels.lane('host');
  // The bindings take per-table arrays (a jagged batch's views), so their checks are driven with per-table bags.
  const a = kernels.addon;
  const forward = (w: Float32Array[], b: Bags, l: SlotLayout, out: Float32Array) =>
    a.embeddingForward(w, null, b.indices, b.offsets, l.bags, l.dim, l.stride, l.slot0, out, false);
  const update = (w: Float32Array[], b: Bags, l: SlotLayout, grad: Float32Array, u: SparseUpdate) =>
    a.embeddingUpdate(w, u.states, b.indices, b.offsets, l.bags, l.dim, l.stride, l.slot0, grad, u.optimizer === 'sgd' ? 0 : 1, u.lr, u.eps);
  let wasOn: boolean | null = null;
  before(() => (wasOn = setBoundsCheck(true)));
  after(() => setBoundsCheck(wasOn!));

  // 4 tables of 176 rows x dim 4, 20 one-hot bags each.
  const dim = 4, rows = 176, bagCount = 20, tables = 4;
  const layout: SlotLayout = { bags: bagCount, dim, stride: tables * dim, slot0: 0 };
  const weights = () => Array.from({ length: tables }, () => new Float32Array(rows * dim));
  const sgd: SparseUpdate = { optimizer: 'sgd', lr: 0.1, eps: 0, states: null };
  const adagrad = (stateRows: number): SparseUpdate => ({
    optimizer: 'rowwise-adagrad', lr: 0.1, eps: 1e-8, states: Array.from({ length: tables }, () => new Float32Array(stateRows)),
  });
  const bags = (edit: (b: Bags) => void = () => {}): Bags => {
    const b = {
      indices: Array.from({ length: tables }, () => Int32Array.from({ length: bagCount }, (_, i) => i * 7)),
      offsets: Array.from({ length: tables }, () => Int32Array.from({ length: bagCount + 1 }, (_, i) => i)),
    };
    edit(b);
    return b;
  };
  const activation = () => new Float32Array(bagCount * layout.stride);
  const idPastTheEnd = bags((b) => (b.indices[3][17] = 180));

  const bindings: [string, (b: Bags) => unknown][] = [
    ['embeddingForward', (b) => forward(weights(), b, layout, activation())],
    ['embeddingUpdate', (b) => update(weights(), b, layout, activation(), sgd)],
    ['splitLookups', (b) => kernels.splitLookups(Array.from({ length: tables }, () => new Int32Array(rows).fill(-1)), Int32Array.of(0), jaggedOfBags(b))],
    ['laneGather', (b) => engine.wait(engine.gather(weights(), b, layout, activation()))],
    ['laneRefetch', (b) => engine.wait(engine.refetch(weights(), b, layout, activation(), [0, 1, 2, 3].map(() => Int32Array.of(7))))],
    ['laneUpdate', (b) => engine.wait(engine.update(weights(), b, layout, activation(), adagrad(rows)))],
  ];
  for (const [name, call] of bindings) {
    it(`${name} refuses an id past its table's end, and runs on good ids`, () => {
      assert.throws(() => call(idPastTheEnd), { message: 'hotline native: table 3: id 180 at lookup 17 is outside its 176 rows' });
      assert.throws(() => call(bags((b) => (b.indices[0][2] = -1))), { message: 'hotline native: table 0: id -1 at lookup 2 is outside its 176 rows' });
      call(bags());
    });
  }

  it('refuses offsets that are short, start below 0, decrease or run past the ids', () => {
    const forwardOf = (b: Bags) => () => forward(weights(), b, layout, activation());
    const cases: [Bags, string][] = [
      [bags((b) => (b.offsets[1] = b.offsets[1].subarray(0, 10))), 'table 1: 10 offsets for 20 bags (needs 21)'],
      [bags((b) => (b.offsets[0][0] = -1)), 'table 0: offsets start at -1, below 0'],
      [bags((b) => (b.offsets[2][5] = 2)), 'table 2: offset 5 (2) is below offset 4 (4)'],
      [bags((b) => (b.offsets[2][20] = 25)), 'table 2: offsets end at 25, past its 20 ids'],
    ];
    for (const [b, message] of cases) assert.throws(forwardOf(b), { message: `hotline native: ${message}` });
  });

  it('refuses a row-wise Adagrad state shorter than its table, and a layout its activation cannot hold', () => {
    assert.throws(() => update(weights(), bags(), layout, activation(), adagrad(100)), {
      message: 'hotline native: table 0: its row-wise Adagrad state holds 100 floats for its 176 rows',
    });
    assert.throws(() => forward(weights(), bags(), layout, new Float32Array(100)), {
      message: 'hotline native: 20 bags of stride 16 need 320 floats, the activation holds 100',
    });
    assert.throws(() => forward(weights(), bags(), { ...layout, stride: 12 }, new Float32Array(1000)), {
      message: 'hotline native: 4 tables of dim 4 from column 0 overrun the stride of 12',
    });
  });

  it('reads each table\'s rows from its own length: a shorter table refuses an id the others hold', () => {
    const w = weights();
    w[2] = new Float32Array(100 * dim);
    assert.throws(() => forward(w, bags((b) => (b.indices[2][0] = 100)), layout, activation()), {
      message: 'hotline native: table 2: id 100 at lookup 0 is outside its 100 rows',
    });
  });

  it('is off by default and on when HOTLINE_BOUNDS_CHECK=1 as the addon loads', () => {
    const stateAtLoad = (value: string | undefined) => {
      const env = { ...process.env, HOTLINE_BOUNDS_CHECK: value };
      if (value === undefined) delete env.HOTLINE_BOUNDS_CHECK;
      const script = `console.log(require(${JSON.stringify(join(root, 'build/Release/hotline.node'))}).setBoundsCheck(false))`;
      return execFileSync(process.execPath, ['-e', script], { env, encoding: 'utf8' }).trim();
    };
    assert.equal(stateAtLoad(undefined), 'false');
    assert.equal(stateAtLoad('0'), 'false');
    assert.equal(stateAtLoad('1'), 'true');
    assert.equal(setBoundsCheck(false), true, 'on inside this suite');
    assert.equal(setBoundsCheck(true), false);
  });
});

describe('dataset range scans: native and TypeScript agree', { skip }, () => {
  const native = nativeScans!, ts = typescriptScans;
  after(() => addon.setThreads(1));
  const rng = new Rng(2024);

  // An array of good values of `length` with bad ones planted at the first, the last and random positions.
  function planted<T extends Int32Array | Float32Array>(make: (n: number) => T, length: number, good: () => number, bad: number[]): T[] {
    const arrays: T[] = [];
    for (const where of ['none', 'first', 'last', 'several', 'late block']) {
      const a = make(length);
      for (let i = 0; i < length; i++) a[i] = good();
      const plant = (i: number) => (a[i] = bad[rng.int(bad.length)]);
      if (length > 0 && where === 'first') plant(0);
      if (length > 0 && where === 'last') plant(length - 1);
      if (length > 0 && where === 'several') for (let k = 0; k < 4; k++) plant(rng.int(length));
      if (length > 0 && where === 'late block') {
        plant(length - 1 - rng.int(Math.min(length, 1000)));
        plant(rng.int(length >> 1));
      }
      arrays.push(a);
    }
    return arrays;
  }

  for (const threads of [1, 2]) {
    it(`firstIdOutOfRange, firstNonFinite and firstNotBinary on ${threads} thread(s)`, () => {
      addon.setThreads(threads);
      for (const length of [0, 1, 7, 1000, 65536, 65537, 300_001]) {
        for (const rows of [0, 1, 176, 2 ** 31 - 1]) {
          const over = [rows, rows + 1, -1, -(2 ** 31), 2 ** 31 - 1].filter((v) => v >= rows || v < 0);
          for (const ids of planted((n) => new Int32Array(n), length, () => rng.int(Math.max(rows, 1)), over)) {
            const want = ts.firstIdOutOfRange(ids, rows);
            assert.equal(native.firstIdOutOfRange(ids, rows), want, `ids of ${length}, rows ${rows}`);
            if (rows === 0 && length > 0) assert.equal(want, 0, 'no id is inside a table of no rows');
          }
        }
        for (const values of planted((n) => new Float32Array(n), length, () => (rng.next() - 0.5) * 1e38, [NaN, Infinity, -Infinity])) {
          assert.equal(native.firstNonFinite(values), ts.firstNonFinite(values), `dense of ${length}`);
        }
        for (const labels of planted((n) => new Float32Array(n), length, () => rng.int(2), [2, -1, 0.5, NaN, Infinity, 1e-45])) {
          assert.equal(native.firstNotBinary(labels), ts.firstNotBinary(labels), `labels of ${length}`);
        }
      }
    });
  }

  it('finds the first bad element even when a later block has one too', () => {
    addon.setThreads(2);
    const ids = new Int32Array(1 << 20);
    ids[(1 << 20) - 1] = -5;
    ids[123_457] = 99;
    assert.equal(native.firstIdOutOfRange(ids, 99), 123_457);
    assert.equal(native.firstIdOutOfRange(ids, 100), (1 << 20) - 1);
    const values = new Float32Array(1 << 20);
    values[700_000] = NaN;
    values[65_536] = -Infinity;
    assert.equal(native.firstNonFinite(values), 65_536);
    assert.equal(native.firstNotBinary(Float32Array.of(0, 1, -0, 1, 3)), 4, '-0 is a 0 label');
  });
});

// The addon's parseCriteo against the TypeScript parser: the native answer is the TypeScript rows, or -1 when
// the TypeScript parser refuses the chunk or the rows do not fit.
function parseBoth(text: Uint8Array, labelled: boolean, capacity: number) {
  const labels = new Float32Array(capacity), dense = new Float32Array(capacity * criteoDense);
  const keys = Array.from({ length: criteoCategorical }, () => new Float64Array(capacity));
  const rows = data.parseCriteo(text, labelled, labels, dense, keys);
  let want: ReturnType<typeof parseCriteoLines> | null = null;
  try {
    want = parseCriteoLines(text, { file: 'fuzz', firstLine: 1, labelled, onBadLine: 'error', skipped: {} }, false, true);
  } catch {
    // a bad line: the chunk is the TypeScript parser's
  }
  return { rows, labels, dense, keys, want: want && want.rows <= capacity ? want : null };
}

describe('native Criteo parser', { skip }, () => {
  const line = (dense: string[]) => `1\t${dense.join('\t')}\t${Array(criteoCategorical).fill('68fd1e64').join('\t')}\n`;

  it('gives a number too large to be finite to the TypeScript parser', () => {
    const huge = '9'.repeat(400), bytes = Buffer.from(line([huge, ...Array(12).fill('1')]));
    assert.equal(parseBoth(bytes, true, 1).rows, -1);
    assert.equal(parseBoth(Buffer.from(line([`-${huge}`, ...Array(12).fill('1')])), true, 1).rows, -1);
  });

  it('parses the largest finite integers as the TypeScript parser does', () => {
    const big = '1' + '0'.repeat(300), got = parseBoth(Buffer.from(line([big, '18446744073709551616', ...Array(11).fill('3')])), true, 1);
    assert.equal(got.rows, 1);
    assert.deepEqual(got.dense, got.want!.dense);
    assert.equal(got.dense[0], Math.fround(Math.log1p(1e300)));
  });

  // Each file is a fuzz input of bench/fuzz/criteo.cc: an options byte (bit 0 labelled, bits 1-2 the capacity:
  // lines, lines - 1, lines + 2 or 0), then the TSV bytes.
  const dir = join(root, 'bench/fuzz/regressions');
  for (const file of readdirSync(dir).filter((f) => f.startsWith('criteo-'))) {
    it(`fuzz finding ${file}: no crash, and the TypeScript parser's rows or -1`, () => {
      const input = readFileSync(join(dir, file)), text = input.subarray(1), labelled = (input[0] & 1) === 1;
      let lines = 0;
      for (const b of text) lines += b === 10 ? 1 : 0;
      if (text.length > 0 && text.at(-1) !== 10) lines++;
      const capacity = Math.max(0, [lines, lines - 1, lines + 2, 0][(input[0] >> 1) & 3]);
      const got = parseBoth(text, labelled, capacity);
      assert.equal(got.rows, got.want ? got.want.rows : -1);
      if (got.want) assert.deepEqual(got.dense.subarray(0, got.rows * criteoDense), got.want.dense);
    });
  }

  it('refuses output arrays shorter than the rows it may write', () => {
    const keys = (n: number, rows: number) => Array.from({ length: n }, () => new Float64Array(rows));
    const bytes = Buffer.from(line(Array(13).fill('1')));
    const message = 'hotline native: parseCriteo needs dense [rows x 13] and 26 key columns of rows, as labels';
    assert.throws(() => data.parseCriteo(bytes, true, new Float32Array(4), new Float32Array(13), keys(26, 4)), { message });
    assert.throws(() => data.parseCriteo(bytes, true, new Float32Array(4), new Float32Array(52), keys(25, 4)), { message });
    assert.throws(() => data.parseCriteo(bytes, true, new Float32Array(4), new Float32Array(52), [...keys(25, 4), new Float64Array(3)]), { message });
    assert.equal(data.parseCriteo(bytes, true, new Float32Array(4), new Float32Array(52), keys(26, 4)), 1);
  });

  it('counts no line ends in no bytes', () => {
    assert.equal(data.countLineEnds(new Uint8Array(0)), 0);
    assert.equal(data.countLineEnds(Buffer.from('a\nb\n\nc')), 3);
  });
});
