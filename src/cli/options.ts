/**
 * Command-line flags (dlrm's names where dlrm has one) and the JSON config file alternative: one table of
 * options, validated the same way from either source, with messages that name the flag or key.
 */
import { availableParallelism } from 'node:os';
import { readJsonFile } from '../util/os-error.ts';
import { policies, policyNames } from '../policies/registry.ts';

type Kind =
  | { type: 'int'; min: number }
  | { type: 'number'; min: number; exclusiveMin?: boolean; max?: number; exclusiveMax?: boolean }
  | { type: 'string' }
  | { type: 'enum'; values: readonly string[] }
  | { type: 'flag' }
  | { type: 'bytes'; min?: number };

interface OptionSpec {
  kind: Kind;
  help: string;
  default?: string | number | boolean;
}

export const trainOptions = {
  'config': { kind: { type: 'string' }, help: 'JSON file with any of these options as keys (flags override it)' },
  'model': {
    kind: { type: 'enum', values: ['auto', 'dlrm', 'tbsm'] }, default: 'auto',
    help: 'dlrm, tbsm (the time-based sequence model, on a dataset of sequences: preprocess --format taobao-tbsm), or auto (tbsm on such a dataset, else dlrm)',
  },
  'preset': { kind: { type: 'enum', values: ['kaggle', 'terabyte', 'taobao'] }, help: "architecture preset with real cardinalities: kaggle or terabyte (Criteo, dlrm's MLPs; the default for dlrm), taobao (tbsm's Taobao tower; the default for tbsm)" },
  'arch-mlp-bot': { kind: { type: 'string' }, help: "bottom MLP widths, e.g. 13-512-256-64-16 (overrides the preset)" },
  'arch-mlp-top': { kind: { type: 'string' }, help: 'top MLP widths after the interaction, e.g. 512-256-1' },
  'arch-sparse-feature-size': { kind: { type: 'int', min: 1 }, help: 'embedding dimension' },
  'arch-embedding-size': { kind: { type: 'string' }, help: 'rows of each table, e.g. 1460-583-10131227 (random data only)' },
  'arch-interaction-op': { kind: { type: 'enum', values: ['dot', 'cat'] }, default: 'dot', help: 'feature interaction' },
  'ts-length': { kind: { type: 'int', min: 1 }, help: "tbsm: history events before the candidate (the dataset's; tbsm's --ts-length)" },
  'tsl-inner': { kind: { type: 'enum', values: ['def', 'ind', 'dot'] }, default: 'def', help: "tbsm: the attention's inner product: w'A'Av (def), w'Av (ind) or w'v (dot)" },
  'tsl-proj': { kind: { type: 'flag' }, default: true, help: 'tbsm: project the event vectors onto the unit sphere (--no-tsl-proj: not)' },
  'tsl-seq': { kind: { type: 'flag' }, default: false, help: 'tbsm: head h of H attends over the last (H - h) / H of the history (the k-seq method)' },
  'tsl-num-heads': { kind: { type: 'int', min: 1 }, default: 1, help: 'tbsm: heads of the time series layer, each with its own MLPs' },
  'attn-interaction-op': { kind: { type: 'enum', values: ['dot'] }, default: 'dot', help: "tbsm: the attention's interaction (tbsm's --tsl-interaction-op)" },
  'attn-mechanism': { kind: { type: 'enum', values: ['mlp', 'mul'] }, default: 'mlp', help: "tbsm: coefficients from an MLP with a sigmoid on the scores (mlp) or the scores themselves (mul); tbsm's --tsl-mechanism" },
  'tsl-mlp': { kind: { type: 'string' }, default: '15-15', help: "tbsm: the attention MLP's hidden widths (its input and output are the history length)" },
  'arch-mlp': { kind: { type: 'string' }, default: '60-1', help: "tbsm: each head's MLP after its input [context, candidate], ending in 1" },
  'data-generation': {
    kind: { type: 'enum', values: ['random', 'synthetic', 'dataset'] }, default: 'random',
    help: "random: uniform indices and labels (speed runs, as dlrm); synthetic: skewed Criteo-like set; dataset: --raw-data-file",
  },
  'dataset': { kind: { type: 'string' }, help: 'a preprocessed hotline dataset folder (Kaggle split: 6/7 train, last 1/14 test)' },
  'shuffle-buffer': { kind: { type: 'int', min: 0 }, default: 0, help: '--dataset: stream it through a shuffle buffer of N rows instead of loading it (0: load)' },
  'split': { kind: { type: 'enum', values: ['kaggle', 'day', 'random', 'parts'] }, help: "--dataset split: kaggle (6/7 train), day (last input file held out), random (--test-fraction held out), parts (the preprocess's train and test parts) [parts when the dataset has them, else kaggle]" },
  'raw-data-file': { kind: { type: 'string' }, help: 'Criteo raw TSV (label, I1..I13, C1..C26) for --data-generation dataset' },
  'data-size': { kind: { type: 'int', min: 2 }, default: 200000, help: 'rows of the synthetic set' },
  'zipf': { kind: { type: 'number', min: 0 }, default: 1.1, help: 'Zipf exponent of the synthetic ids' },
  'max-table-rows': { kind: { type: 'int', min: 0 }, default: 0, help: 'cap every table of the synthetic set (0: no cap)' },
  'test-fraction': { kind: { type: 'number', min: 0, max: 1, exclusiveMax: true }, default: 0.1, help: 'last fraction of the rows held out for testing' },
  'mini-batch-size': { kind: { type: 'int', min: 1 }, default: 128, help: 'samples per mini-batch' },
  'test-mini-batch-size': { kind: { type: 'int', min: 1 }, default: 4096, help: 'samples per evaluation batch' },
  'learning-rate': { kind: { type: 'number', min: 0, exclusiveMin: true }, default: 0.01, help: 'learning rate' },
  'optimizer': { kind: { type: 'enum', values: ['sgd', 'adagrad'] }, default: 'sgd', help: 'sgd, or adagrad (row-wise for tables, as dlrm rwsadagrad)' },
  'adagrad-initial-accumulator': { kind: { type: 'number', min: 0 }, default: 0, help: 'initial Adagrad state' },
  'nepochs': { kind: { type: 'int', min: 1 }, default: 1, help: 'epochs' },
  'num-batches': { kind: { type: 'int', min: 0 }, default: 0, help: 'batches per epoch (0: the whole set; random data needs it)' },
  'test-freq': { kind: { type: 'int', min: 0 }, default: 0, help: 'evaluate every N steps (0: at the end only)' },
  'print-freq': { kind: { type: 'int', min: 1 }, default: 100, help: 'steps between progress lines when not on a terminal' },
  'seed': { kind: { type: 'int', min: 0 }, default: 123, help: 'seed for initialisation, shuffling and generated data' },
  'shuffle': { kind: { type: 'flag' }, default: true, help: 'shuffle the training rows each epoch (--no-shuffle to keep file order)' },
  'threads': { kind: { type: 'int', min: 1 }, default: availableParallelism(), help: "compute threads (this machine's cores)" },
  'policy': { kind: { type: 'enum', values: policyNames }, default: 'baseline', help: policyNames.map((n) => `${n} (${policies[n].summary})`).join('; ') },
  'hot-budget': { kind: { type: 'bytes' }, default: '256MiB', help: 'fast-tier budget for hot rows and their optimizer state' },
  'sampling-rate': { kind: { type: 'number', min: 0, exclusiveMin: true, max: 1 }, default: 0.05, help: 'share of the training inputs the profiler samples (1: all)' },
  'hot-quota': { kind: { type: 'enum', values: ['global', 'per-table'] }, default: 'global', help: 'hot rows by global count (FAE) or per-table shares' },
  'learn-batches': { kind: { type: 'int', min: 1 }, default: 100, help: 'hotline: mini-batches observed before choosing the popular rows' },
  'learn-sampling-rate': { kind: { type: 'number', min: 0, exclusiveMin: true, max: 1 }, default: 1, help: 'hotline: share of inputs the learner counts' },
  'relearn-every': { kind: { type: 'int', min: 0 }, default: 0, help: 'hotline: re-learn the popular rows every N mini-batches (0: never)' },
  'pipeline': { kind: { type: 'flag' }, default: true, help: "hotline: gather the next mini-batch's rows early (--no-pipeline: in step)" },
  'target-drop': { kind: { type: 'number', min: 0, exclusiveMin: true, max: 1, exclusiveMax: true }, default: 0.3, help: 'slipstream: share of sampled hot inputs to skip (D)' },
  'drop-band': { kind: { type: 'number', min: 0, max: 1, exclusiveMax: true }, help: "slipstream: accepted band around the target drop (the authors': 0.08, 0.02 for tbsm)" },
  'stale-alpha': { kind: { type: 'int', min: 0 }, help: "slipstream: stale lookups that make an input skippable, for tbsm in each table's sequence (0: all; default all, 4 for tbsm as the authors' Taobao script)" },
  'stale-start': { kind: { type: 'int', min: 0 }, default: 1000, help: 'slipstream: hot mini-batch of the first snapshot' },
  'stale-window': { kind: { type: 'number', min: 0, exclusiveMin: true, max: 1 }, default: 0.03, help: "slipstream: snapshot window, share of the epoch's hot mini-batches" },
  'stale-sample-rate': { kind: { type: 'number', min: 0, exclusiveMin: true, max: 1 }, default: 0.001, help: 'slipstream: share of remaining hot inputs sampled for the search' },
  'stale-relative': { kind: { type: 'flag' }, default: false, help: 'slipstream: threshold on |change| / |value| instead of |change|' },
  'stale-reevaluate': { kind: { type: 'int', min: 0 }, default: 0, help: 'slipstream: renew the decision every N hot mini-batches (0: once per epoch)' },
  'fae-schedule': { kind: { type: 'enum', values: ['adaptive', 'cold-then-hot'] }, default: 'adaptive', help: 'interleaving of hot and cold mini-batches' },
  'device': { kind: { type: 'enum', values: ['auto', 'cpu', 'webgpu'] }, default: 'auto', help: 'where the model computes: a GPU through WebGPU, the CPU, or auto (a GPU that is not a software rasteriser, else the CPU)' },
  'backend': { kind: { type: 'enum', values: ['auto', 'native', 'typescript'] }, default: 'auto', help: 'CPU kernels (the model on the CPU; the host side on a GPU)' },
  'storage': { kind: { type: 'string' }, default: 'memory', help: "where the tables live: memory, or ssd[:DIR] (files in DIR, by default the run directory's tables/; a new run needs an empty DIR)" },
  'host-budget': { kind: { type: 'bytes', min: 0 }, default: '0', help: '--storage ssd: host memory for the rows placed after the --hot-budget ones (fae, hotline), the rest on the SSD' },
  'host-cache': { kind: { type: 'enum', values: ['placed', 'lru'] }, default: 'placed', help: "--storage ssd: --host-budget holds the rows the policy places there (placed), or is an LRU cache of the rows last used (lru, the peers' way)" },
  'read-ahead': { kind: { type: 'int', min: 0 }, default: 2, help: '--storage ssd: upcoming mini-batches whose rows are read ahead' },
  'io-engine': { kind: { type: 'enum', values: ['auto', 'uring', 'threads'] }, default: 'auto', help: '--storage ssd: io_uring, a pool of threads, or auto (io_uring where the kernel allows it)' },
  'io-depth': { kind: { type: 'int', min: 1 }, default: 64, help: '--storage ssd: transfers in flight' },
  'checkpoint-every': { kind: { type: 'int', min: 0 }, default: 0, help: 'checkpoint every N steps and at the end (0: none); resume with train --resume RUN_DIR' },
  'keep-checkpoints': { kind: { type: 'int', min: 1 }, default: 2, help: 'checkpoints kept (older ones are deleted)' },
  'run-dir': { kind: { type: 'string' }, default: 'runs', help: "parent folder of the run directory ('' for none)" },
} satisfies Record<string, OptionSpec>;

export type TrainOptionName = keyof typeof trainOptions;
export type OptionValues = Partial<Record<TrainOptionName, string | number | boolean>>;

export class UsageError extends Error {}

/** Threads beyond this many per core only slow a run down (the pool's workers spin while they wait). */
const threadsPerCore = 4;

/** Refuses a thread count far beyond the cores; returns a warning when it exceeds them, else null. */
export function checkThreads(threads: number, flag: string): string | null {
  const cores = availableParallelism();
  if (threads > threadsPerCore * cores) {
    throw new UsageError(`${flag} ${threads}: more than ${threadsPerCore} per core of this machine's ${cores} (${threadsPerCore * cores}) would only slow the work down`);
  }
  return threads > cores ? `${flag} ${threads} is more than this machine's ${cores} cores: the threads will share them` : null;
}

function describeKind(kind: Kind): string {
  switch (kind.type) {
    case 'int': return kind.min >= 1 ? 'a positive integer' : `an integer >= ${kind.min}`;
    case 'number':
      if (kind.max === undefined) return kind.exclusiveMin ? `a number > ${kind.min}` : `a number >= ${kind.min}`;
      return `a number in ${kind.exclusiveMin ? '(' : '['}${kind.min}, ${kind.max}${kind.exclusiveMax ? ')' : ']'}`;
    case 'string': return 'a string';
    case 'enum': return `one of ${kind.values.join(', ')}`;
    case 'flag': return 'true or false';
    case 'bytes': return "a size such as 256MiB, 1GiB, 512MB or a byte count";
  }
}

/** Converts a raw value (a CLI string or a JSON value) to the option's type, or throws naming `where`. */
function convert(spec: OptionSpec, raw: unknown, where: string): string | number | boolean {
  const fail = () => new UsageError(`${where}: expected ${describeKind(spec.kind)}, got ${JSON.stringify(raw)}`);
  const k = spec.kind;
  switch (k.type) {
    case 'int':
    case 'number': {
      const v = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
      if (!Number.isFinite(v) || (k.type === 'int' && !Number.isInteger(v))) throw fail();
      if (v < k.min || (k.type === 'number' && k.exclusiveMin && v === k.min)) throw fail();
      if (k.type === 'number' && k.max !== undefined && (v > k.max || (k.exclusiveMax && v === k.max))) throw fail();
      return v;
    }
    case 'string':
      if (typeof raw !== 'string') throw fail();
      return raw;
    case 'enum':
      if (typeof raw !== 'string' || !k.values.includes(raw)) throw fail();
      return raw;
    case 'flag':
      if (typeof raw !== 'boolean') throw fail();
      return raw;
    case 'bytes': {
      const bytes = typeof raw === 'number' ? raw : typeof raw === 'string' ? parseBytes(raw) : NaN;
      if (!Number.isInteger(bytes) || bytes < (k.min ?? 1)) throw fail();
      return bytes;
    }
  }
}

const units: Record<string, number> = { '': 1, B: 1, KB: 1e3, MB: 1e6, GB: 1e9, KIB: 2 ** 10, MIB: 2 ** 20, GIB: 2 ** 30 };

/** "256MiB" -> 268435456; NaN when not a size. */
export function parseBytes(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m ? units[m[2].toUpperCase()] : undefined;
  return m && unit !== undefined ? Math.round(Number(m[1]) * unit) : NaN;
}

/** Parses --name value / --name=value / --flag / --no-flag into validated values. */
export function parseFlags(argv: string[]): OptionValues {
  const values: OptionValues = {};
  const specs: Record<string, OptionSpec> = trainOptions;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument '${arg}'`);
    let [name, inline] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    let spec = specs[name];
    if (!spec && name.startsWith('no-') && specs[name.slice(3)]?.kind.type === 'flag') {
      name = name.slice(3);
      spec = specs[name];
      inline = 'false';
    }
    if (!spec) throw new UsageError(`unknown option --${name} (see --help)`);
    let raw: unknown;
    if (spec.kind.type === 'flag') {
      raw = inline === undefined ? true : inline === 'true' ? true : inline === 'false' ? false : inline;
    } else {
      raw = inline ?? argv[++i];
      if (raw === undefined) throw new UsageError(`--${name}: missing value`);
    }
    values[name as TrainOptionName] = convert(spec, raw, `--${name}`);
  }
  return values;
}

/** Reads a JSON config file whose keys are option names without the dashes. */
export function readConfigFile(path: string): OptionValues {
  return optionsFrom(readJsonFile(path, (message) => new UsageError(message)), path);
}

/** Validated option values from a JSON object keyed by option names (a --config file, a run's saved options). */
export function optionsFrom(parsed: unknown, where: string): OptionValues {
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UsageError(`${where}: expected a JSON object of options`);
  }
  const values: OptionValues = {};
  const specs: Record<string, OptionSpec> = trainOptions;
  for (const [key, raw] of Object.entries(parsed)) {
    const spec = specs[key];
    if (!spec || key === 'config') throw new UsageError(`${where}: unknown option "${key}" (see hotline train --help)`);
    values[key as TrainOptionName] = convert(spec, raw, `${where}: "${key}"`);
  }
  return values;
}

/** Defaults, then the config file (or the given base values), then the flags. */
export function resolveOptions(argv: string[], base: OptionValues = {}): Required<Record<TrainOptionName, string | number | boolean>> {
  const flags = parseFlags(argv);
  const file = typeof flags.config === 'string' ? readConfigFile(flags.config) : base;
  const resolved: Record<string, string | number | boolean> = {};
  for (const [name, spec] of Object.entries(trainOptions) as [TrainOptionName, OptionSpec][]) {
    const v = flags[name] ?? file[name] ?? (spec.default === undefined ? undefined : convert(spec, spec.default, `default of --${name}`));
    if (v !== undefined) resolved[name] = v;
  }
  return resolved as Required<Record<TrainOptionName, string | number | boolean>>;
}

export function helpText(): string {
  return Object.entries(trainOptions as Record<string, OptionSpec>)
    .map(([name, s]) => `  --${name.padEnd(28)} ${s.help}${s.default !== undefined && s.default !== '' ? ` [${s.default}]` : ''}`)
    .join('\n');
}
