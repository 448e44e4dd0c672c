/**
 * Tables larger than memory (issue 14's benchmark, not CI): the Terabyte preset's cardinalities scaled up, at dimension
 * 128 with row-wise Adagrad state (about 35 GiB on the local disk), trained on skewed synthetic data whose ids are
 * numbered by descending frequency (as `preprocess` numbers them), host memory held to --host-budget:
 *   mmap     the tables memory-mapped from the same files, left to the page cache (the obvious alternative)
 *   lru      the ssd tier behind an LRU cache of --host-budget, misses read ahead (the peers' way)
 *   fae      FAE's profile places --hot-budget of hot rows and the next ones in the rest of the host budget
 *   hotline  Hotline's learner places them at run time; its pipeline and the SSD read-ahead hide the reads
 *   memory   every table in memory, on a set shrunk to fit (the upper bound)
 * Each run is its own process, in a memory cgroup of --host-budget plus --slack (cgroup v1, where this machine
 * lets one be made) with the page cache dropped before it, so the page cache holds no more than the budget the
 * other runs get. Rounds interleave the configurations. Prints samples/s (median and range), bytes read from the
 * disk per sample, the share of lookups served from host memory, the share of the SSD reads' time hidden behind the
 * compute, and the ratios; writes bench/out/ssd.json.
 *
 *   node --import tsx bench/ssd.ts [--dir /var/tmp/hotline-ssd-bench] [--scale 1.4] [--dim 128] [--rows 300000]
 *     [--batch 2048] [--steps 40] [--repeats 2] [--host-budget 4GiB] [--hot-budget 1GiB] [--slack 2GiB]
 *     [--configs mmap,lru,fae,hotline,memory] [--engine uring|threads]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Batch } from '../src/data/batch.ts';
import { generateSynthetic } from '../src/data/synthetic.ts';
import { DatasetSource } from '../src/data/sources.ts';
import { createKernels, deviceFor } from '../src/device/registry.ts';
import { SsdTables, type SsdStorage } from '../src/embedding/ssd-tables.ts';
import type { TableStore } from '../src/embedding/table-store.ts';
import { HostTables, type TableConfig, tableConfigs } from '../src/embedding/tables.ts';
import { MemoryTier } from '../src/embedding/tier.ts';
import { type IoEngine, ioEngines, mapFile } from '../src/io/block-file.ts';
import { presets, terabyteRows } from '../src/model/arch.ts';
import { createDlrm } from '../src/model/create-model.ts';
import { Optimizer } from '../src/optim/optimizer.ts';
import type { PolicyContext } from '../src/policies/policy.ts';
import { createPolicy } from '../src/policies/registry.ts';
import { defaultStaleness } from '../src/policies/slipstream.ts';
import { parseBytes } from '../src/cli/options.ts';
import { formatBytes } from '../src/util/bytes.ts';

const { values } = parseArgs({
  options: {
    dir: { type: 'string', default: '/var/tmp/hotline-ssd-bench' }, scale: { type: 'string', default: '1.4' }, dim: { type: 'string', default: '128' },
    rows: { type: 'string', default: '300000' }, batch: { type: 'string', default: '2048' }, steps: { type: 'string', default: '40' },
    repeats: { type: 'string', default: '2' }, 'host-budget': { type: 'string', default: '4GiB' }, 'hot-budget': { type: 'string', default: '1GiB' },
    slack: { type: 'string', default: '2GiB' }, configs: { type: 'string', default: 'mmap,lru,fae,hotline,memory' }, engine: { type: 'string' },
    run: { type: 'string' }, cgroup: { type: 'string' },
  },
});
type Config = 'mmap' | 'lru' | 'fae' | 'hotline' | 'memory';
const dim = Number(values.dim), batchSize = Number(values.batch), steps = Number(values.steps), seed = 7;
const hostBudget = parseBytes(values['host-budget']!), hotBudget = parseBytes(values['hot-budget']!), slack = parseBytes(values.slack!);
const engine = (values.engine ?? ioEngines().at(-1)) as IoEngine, io = { engine, queueDepth: 64 };
const tableRows = terabyteRows.map((n) => Math.max(1, Math.round(n * Number(values.scale))));
/** The in-memory set: every table capped so the whole set takes about the host budget. */
const shrunkRows = (() => {
  let cap = Math.max(...tableRows);
  const bytes = (c: number) => tableRows.reduce((a, n) => a + Math.min(n, c), 0) * 4 * (dim + 1);
  while (bytes(cap) > hostBudget) cap = Math.floor(cap * 0.9);
  return tableRows.map((n) => Math.min(n, cap));
})();
const tables = (rows: number[]) => tableConfigs(rows, dim);
const storage = (hostCache: 'placed' | 'lru', host: number): SsdStorage => ({ dir: values.dir!, readAhead: 2, hostBudget: host, hostCache, io });

/** The tables memory-mapped from the ssd tier's files (bench only: no checkpoints). */
class MappedTables implements TableStore {
  readonly kind = 'host';
  readonly memory = null;
  readonly readAhead = 0;
  readonly hostBudget = 0;
  readonly dim = dim;
  private readonly weights: Float32Array[];
  private readonly states: Float32Array[];

  constructor(private readonly kernels: ReturnType<typeof createKernels>, readonly tables: readonly TableConfig[]) {
    this.weights = tables.map((_, t) => mapFile(join(values.dir!, `table${t}.rows`)));
    this.states = tables.map((_, t) => mapFile(join(values.dir!, `table${t}.state`)));
  }

  tier(state: { initial: number } | null): MemoryTier {
    return new MemoryTier('host', this.kernels, this.weights, state ? this.states : null, dim);
  }

  beginCheckpoint(): void {}
  endCheckpoint(): void {}
  rollBack(): void {}
  release(): void {}
}

/** Bytes this process made the disk read (page faults and O_DIRECT alike), and its major page faults. */
function diskReads(): { bytes: number; faults: number } {
  const bytes = Number(/read_bytes: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))?.[1] ?? 0);
  return { bytes, faults: process.resourceUsage().majorPageFault };
}

/** One configuration's run, in this process: its figures as one JSON line. */
async function runOne(config: Config): Promise<void> {
  if (values.cgroup) writeFileSync(join(values.cgroup, 'cgroup.procs'), String(process.pid));
  const device = deviceFor('auto', 2), kernels = device.kernels;
  const rows = config === 'memory' ? shrunkRows : tableRows;
  const arch = { ...presets.terabyte, embeddingDim: dim, tableRows: rows, bottomMlp: [13, 512, 256, dim] };
  const data = generateSynthetic({ rows: Number(values.rows), tableRows: rows, denseFeatures: 13, zipf: 1.1, seed, scatter: false });
  const model = createDlrm(device, arch, seed);
  const optimizer = new Optimizer({ name: 'adagrad', lr: 0.01, eps: 1e-8, initialAccumulator: 0 });
  const source = new DatasetSource(data, batchSize, true, seed, steps);
  const home: TableStore = config === 'memory' ? new HostTables(kernels, tables(rows), seed)
    : config === 'mmap' ? new MappedTables(kernels, tables(rows))
    : SsdTables.open(config === 'lru' ? storage('lru', hostBudget) : storage('placed', hostBudget - hotBudget), kernels, tables(rows), true);
  const ctx: PolicyContext = { device, model, optimizer, source, saved: null, home };
  const learnBatches = 8, warm = config === 'hotline' ? learnBatches + 4 : 4;
  const policy = createPolicy(config === 'fae' || config === 'hotline' ? config : 'baseline', ctx, {
    seed, staleness: defaultStaleness,
    fae: { budgetBytes: hotBudget, samplingRate: 0.05, quota: 'global', schedule: 'adaptive' },
    hotline: { learnBatches, learnSamplingRate: 1, relearnEvery: 0, pipeline: true },
  });
  const ssd = home instanceof SsdTables ? home : null;
  let step = 0, samples = 0, t0 = 0n, from = diskReads(), stats0: Record<string, number> = {};
  for (const batch of policy.schedule(source, 0, 0) as Iterable<Batch>) {
    if (step === warm) {
      t0 = process.hrtime.bigint();
      from = diskReads();
      stats0 = ssd?.report() ?? {};
    }
    const r = policy.step(batch);
    await r.loss;
    if (step >= warm) samples += r.samples;
    step++;
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9, to = diskReads(), stats = ssd?.report() ?? {};
  const delta = (k: string) => (stats[k] ?? 0) - (stats0[k] ?? 0), lookups = samples * rows.length;
  const hostShare = config === 'memory' ? 1 : config === 'mmap' ? 1 - (to.faults - from.faults) / lookups
    : config === 'lru' ? delta('cacheHits') / Math.max(1, delta('cacheLookups')) : 1 - delta('lookups') / lookups;
  policy.settle();
  const report = policy.report();
  console.log(JSON.stringify({
    config, samplesPerSecond: samples / seconds, timedSteps: step - warm, samples, bytesReadPerSample: (to.bytes - from.bytes) / samples,
    majorFaultsPerSample: (to.faults - from.faults) / samples, hostShare, hiddenShare: delta('readNs') > 0 ? Math.max(0, 1 - delta('readWaitNs') / delta('readNs')) : null,
    tableBytes: rows.reduce((a, n) => a + n, 0) * 4 * (dim + 1), hotRows: report.hotRows ?? null, hostRows: report.hostRows ?? null,
    popularInputShare: report.popularInputShare ?? null, hotInputShare: report.hotInputShare ?? null, rssBytes: process.memoryUsage().rss,
  }));
  home.release();
}

/** A memory cgroup (v1) limited to the budget, or null where this machine does not let one be made. */
function memoryCgroup(limit: number): string | null {
  const path = '/sys/fs/cgroup/memory/hotline-ssd-bench';
  try {
    mkdirSync(path, { recursive: true });
    writeFileSync(join(path, 'memory.limit_in_bytes'), String(limit));
    return path;
  } catch (error) {
    console.log(`no memory cgroup (${(error as Error).message}): the page cache is not held to the host budget`);
    return null;
  }
}

function dropPageCache(): void {
  try {
    writeFileSync('/proc/sys/vm/drop_caches', '3');
  } catch {
    // not permitted here: the runs share whatever the page cache holds
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

if (values.run) {
  await runOne(values.run as Config);
} else {
  const configs = values.configs!.split(',') as Config[];
  const total = tableRows.reduce((a, n) => a + n, 0) * 4 * (dim + 1);
  console.log(`tables: ${tableRows.reduce((a, n) => a + n, 0).toLocaleString('en-US')} rows x ${dim} with row-wise state, ${formatBytes(total)} in ${values.dir} (${engine}); ` +
    `memory run: ${formatBytes(shrunkRows.reduce((a, n) => a + n, 0) * 4 * (dim + 1))}; host budget ${formatBytes(hostBudget)} (hot ${formatBytes(hotBudget)})`);
  if (!existsSync(join(values.dir!, 'tables.json'))) {
    const t0 = Date.now();
    SsdTables.create(storage('placed', 0), createKernels('auto'), tables(tableRows), seed, { initial: 0 }).release();
    console.log(`made the table files in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }
  const cgroup = memoryCgroup(hostBudget + slack);
  const runs: Record<string, Record<string, number | null>[]> = {};
  for (let r = 0; r < Number(values.repeats); r++) {
    for (const config of configs) {
      dropPageCache();
      const args = process.argv.slice(2).filter((a, i, all) => a !== '--run' && all[i - 1] !== '--run');
      const out = execFileSync(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, ...args, '--run', config,
        ...(cgroup && config !== 'memory' ? ['--cgroup', cgroup] : [])], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 });
      const result = JSON.parse(out.trim().split('\n').at(-1)!);
      (runs[config] ??= []).push(result);
      console.log(`round ${r + 1} ${config}: ${result.samplesPerSecond.toFixed(0)} samples/s`);
    }
  }
  const rate = (c: string) => median(runs[c].map((x) => Number(x.samplesPerSecond)));
  console.log('\nconfig | samples/s median (runs) | disk KiB read / sample | host-memory share of lookups | SSD read time hidden');
  for (const c of configs) {
    const xs = runs[c], last = xs.at(-1)!;
    const pct = (v: unknown) => (v === null ? 'n/a' : `${(100 * Number(v)).toFixed(1)}%`);
    console.log(`${c} | ${rate(c).toFixed(0)} (${xs.map((x) => Number(x.samplesPerSecond).toFixed(0)).join(', ')}) | ` +
      `${(median(xs.map((x) => Number(x.bytesReadPerSample))) / 1024).toFixed(2)} | ${pct(last.hostShare)} | ${pct(last.hiddenShare)}`);
  }
  const ratios: Record<string, number> = {};
  if (runs.hotline && runs.mmap) ratios.hotlineOverMmap = rate('hotline') / rate('mmap');
  if (runs.hotline && runs.lru) ratios.hotlineOverLru = rate('hotline') / rate('lru');
  if (runs.fae && runs.mmap) ratios.faeOverMmap = rate('fae') / rate('mmap');
  if (runs.hotline && runs.memory) ratios.memoryOverHotline = rate('memory') / rate('hotline');
  for (const [k, v] of Object.entries(ratios)) console.log(`${k}: ${v.toFixed(2)}`);
  const here = new URL('.', import.meta.url).pathname;
  mkdirSync(join(here, 'out'), { recursive: true });
  writeFileSync(join(here, 'out', 'ssd.json'), JSON.stringify({
    date: new Date().toISOString(), dir: values.dir, engine, tableRows, shrunkRows, dim, batchSize, steps, hostBudget, hotBudget, cgroup: cgroup !== null,
    runs, ratios,
  }, null, 2));
}
