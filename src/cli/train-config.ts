/** The resolved, typed configuration of a training run, built from the validated options. */
import { type DlrmArch, type Interaction, parseWidths, presets } from '../model/arch.ts';
import type { BackendName, DeviceChoice } from '../device/registry.ts';
import type { OptimizerName } from '../optim/optimizer.ts';
import type { FaeSchedule } from '../policies/fae.ts';
import { defaultStaleness, type StalenessOptions } from '../policies/slipstream.ts';
import { policyEntry, type PolicyName } from '../policies/registry.ts';
import { checkThreads, type OptionValues, optionsFrom, resolveOptions, UsageError } from './options.ts';
import type { DataFingerprint } from '../data/fingerprint.ts';
import { bytesPerRow, type HotQuota } from '../embedding/planner.ts';
import { existsSync } from 'node:fs';
import { readJsonFile } from '../util/os-error.ts';
import { join, resolve } from 'node:path';
import { parseExact, stringifyExact } from '../util/json.ts';
import type { IoEngine } from '../io/block-file.ts';
import type { TbsmArch, TslInner, TslMechanism } from '../model/tbsm/tbsm-arch.ts';
import { readManifest, type SplitRule } from '../data/binary-dataset.ts';

export type DataConfig =
  | { kind: 'random' }
  | { kind: 'synthetic'; rows: number; zipf: number; maxTableRows: number }
  | { kind: 'dataset'; path: string }
  | { kind: 'binary'; path: string; split: SplitRule };

/** The home storage as configured: an ssd folder of null is the run directory's tables/, an engine of auto the fastest here. */
export type StorageConfig =
  | { kind: 'memory' }
  | { kind: 'ssd'; dir: string | null; readAhead: number; hostBudget: number; hostCache: 'placed' | 'lru'; engine: 'auto' | IoEngine; queueDepth: number };

/** TBSM's time series layer and heads as configured (tbsm-arch.ts; the tower is `arch`). */
export type TbsmConfig = Omit<TbsmArch, 'tower'>;

export interface TrainConfig {
  /** The options this configuration was resolved from (data paths absolute): what a resume resolves again. */
  options: OptionValues;
  model: 'dlrm' | 'tbsm';
  /** DLRM's, or TBSM's event tower (its top MLP ends in the event vector). */
  arch: DlrmArch;
  tbsm: TbsmConfig | null;
  data: DataConfig;
  testFraction: number;
  shuffleBuffer: number;
  batchSize: number;
  testBatchSize: number;
  learningRate: number;
  optimizer: OptimizerName;
  adagradInitialAccumulator: number;
  epochs: number;
  numBatches: number;
  testFreq: number;
  printFreq: number;
  seed: number;
  shuffle: boolean;
  threads: number;
  device: DeviceChoice;
  backend: BackendName;
  runDir: string;
  checkpointEvery: number;
  keepCheckpoints: number;
  policy: PolicyName;
  storage: StorageConfig;
  staleness: StalenessOptions;
  hotline: { learnBatches: number; learnSamplingRate: number; relearnEvery: number; pipeline: boolean };
  fae: { budgetBytes: number; samplingRate: number; quota: HotQuota; schedule: FaeSchedule };
}

export function trainConfigFrom(argv: string[], base: OptionValues = {}): TrainConfig {
  const o = resolveOptions(argv, base);
  for (const path of ['dataset', 'raw-data-file'] as const) if (typeof o[path] === 'string') o[path] = resolve(o[path]);
  if (typeof o.storage === 'string' && o.storage.startsWith('ssd:')) o.storage = `ssd:${resolve(o.storage.slice(4))}`;
  const { config: _file, ...options } = o;
  // What a dataset's manifest says of the defaults (the model, the split); a folder that is not a dataset is reported
  // when the data is read, after the options are checked.
  const manifest = typeof o.dataset === 'string' && existsSync(join(o.dataset, 'manifest.json')) ? readManifest(o.dataset) : null;
  const sequence = manifest?.sequence ?? null;
  const model = o.model === 'auto' ? (sequence ? 'tbsm' : 'dlrm') : (String(o.model) as 'dlrm' | 'tbsm');
  const preset = presets[String(o.preset ?? (model === 'tbsm' ? 'taobao' : 'kaggle'))];
  const embeddingDim = Number(o['arch-sparse-feature-size'] ?? preset.embeddingDim);
  const arch: DlrmArch = {
    bottomMlp: o['arch-mlp-bot'] ? parseWidths(String(o['arch-mlp-bot']), '--arch-mlp-bot') : preset.bottomMlp,
    topMlp: o['arch-mlp-top'] ? parseWidths(String(o['arch-mlp-top']), '--arch-mlp-top') : preset.topMlp,
    embeddingDim,
    tableRows: o['arch-embedding-size'] ? parseWidths(String(o['arch-embedding-size']), '--arch-embedding-size') : preset.tableRows,
    interaction: String(o['arch-interaction-op']) as Interaction,
  };
  const tbsm = model === 'tbsm' ? tbsmConfig(o, sequence) : null;
  const kind = String(o['data-generation']);
  let data: DataConfig;
  if (o.dataset) {
    data = { kind: 'binary', path: String(o.dataset), split: (o.split as SplitRule | undefined) ?? (manifest?.parts ? 'parts' : 'kaggle') };
  } else if (kind === 'dataset') {
    if (!o['raw-data-file']) throw new UsageError('--data-generation dataset needs --raw-data-file PATH');
    data = { kind, path: String(o['raw-data-file']) };
  } else if (kind === 'synthetic') {
    data = { kind, rows: Number(o['data-size']), zipf: Number(o.zipf), maxTableRows: Number(o['max-table-rows']) };
  } else {
    data = { kind: 'random' };
  }
  const testFraction = Number(o['test-fraction']);
  const numBatches = Number(o['num-batches']);
  if (data.kind === 'random' && numBatches === 0) throw new UsageError('--data-generation random needs --num-batches N');
  const policy = policyEntry(String(o.policy) as PolicyName);
  if (policy.needsRowsInMemory && data.kind === 'random') {
    throw new UsageError(`--policy ${o.policy} profiles a dataset: use --data-generation synthetic or dataset`);
  }
  const shuffleBuffer = Number(o['shuffle-buffer']);
  if (shuffleBuffer > 0) {
    const conflict = data.kind !== 'binary' ? 'streams a dataset folder: it needs --dataset DIR'
      : numBatches > 0 ? 'streams every row of the training split: it cannot take --num-batches'
      : !o.shuffle ? 'is a shuffle: it cannot take --no-shuffle (without --shuffle-buffer a dataset trains in file order)' : null;
    if (conflict) throw new UsageError(`--shuffle-buffer ${conflict}`);
  }
  const fastTier = policy.fastTier, rowBytes = bytesPerRow(embeddingDim, o.optimizer === 'adagrad' ? 1 : 0);
  if (fastTier && Number(o['hot-budget']) < rowBytes) {
    throw new UsageError(`--hot-budget ${o['hot-budget']} bytes holds no hot row: one row needs ${rowBytes} bytes (${embeddingDim} floats${o.optimizer === 'adagrad' ? ' and its Adagrad state' : ''})`);
  }
  checkThreads(Number(o.threads), '--threads');
  const storage = storageConfig(o);
  if (Number(o['checkpoint-every']) > 0 && o['run-dir'] === '') throw new UsageError("--checkpoint-every needs a run directory (--run-dir is '')");
  return {
    options,
    model,
    arch,
    tbsm,
    data,
    testFraction,
    shuffleBuffer,
    batchSize: Number(o['mini-batch-size']),
    testBatchSize: Number(o['test-mini-batch-size']),
    learningRate: Number(o['learning-rate']),
    optimizer: String(o.optimizer) as OptimizerName,
    adagradInitialAccumulator: Number(o['adagrad-initial-accumulator']),
    epochs: Number(o.nepochs),
    numBatches,
    testFreq: Number(o['test-freq']),
    printFreq: Number(o['print-freq']),
    seed: Number(o.seed),
    shuffle: Boolean(o.shuffle),
    threads: Number(o.threads),
    device: String(o.device) as DeviceChoice,
    backend: String(o.backend) as BackendName,
    runDir: String(o['run-dir']),
    checkpointEvery: Number(o['checkpoint-every']),
    keepCheckpoints: Number(o['keep-checkpoints']),
    policy: String(o.policy) as PolicyName,
    storage,
    staleness: {
      ...defaultStaleness, targetDrop: Number(o['target-drop']), band: Number(o['drop-band'] ?? (tbsm ? 0.02 : 0.08)),
      alpha: Number(o['stale-alpha'] ?? (tbsm ? 4 : 0)) || Infinity, startHotBatch: Number(o['stale-start']), windowShare: Number(o['stale-window']),
      sampleRate: Number(o['stale-sample-rate']), relative: Boolean(o['stale-relative']), reevaluateEvery: Number(o['stale-reevaluate']),
    },
    hotline: {
      learnBatches: Number(o['learn-batches']), learnSamplingRate: Number(o['learn-sampling-rate']),
      relearnEvery: Number(o['relearn-every']), pipeline: Boolean(o.pipeline),
    },
    fae: {
      budgetBytes: Number(o['hot-budget']), samplingRate: Number(o['sampling-rate']),
      quota: String(o['hot-quota']) as HotQuota, schedule: String(o['fae-schedule']) as FaeSchedule,
    },
  };
}

/** TBSM's options, on a dataset of sequences whose history length they must match. */
function tbsmConfig(o: OptionValues, sequence: { tsLength: number } | null): TbsmConfig {
  if (!sequence) {
    throw new UsageError('--model tbsm trains on sequences: give --dataset DIR made by hotline preprocess --format taobao-tbsm');
  }
  const tsLength = o['ts-length'] === undefined ? sequence.tsLength : Number(o['ts-length']);
  if (tsLength !== sequence.tsLength) {
    throw new UsageError(`--ts-length ${tsLength}: the dataset's samples hold ${sequence.tsLength} events of history (preprocess it again with --ts-length ${tsLength})`);
  }
  return {
    tsLength, heads: Number(o['tsl-num-heads']), sequential: Boolean(o['tsl-seq']), project: Boolean(o['tsl-proj']),
    inner: String(o['tsl-inner']) as TslInner, mechanism: String(o['attn-mechanism']) as TslMechanism,
    attentionMlp: parseWidths(String(o['tsl-mlp']), '--tsl-mlp'), headMlp: parseWidths(String(o['arch-mlp']), '--arch-mlp'),
  };
}

/** --storage memory | ssd | ssd:DIR (DIR made absolute), with the ssd tier's I/O options. */
function storageConfig(o: OptionValues): StorageConfig {
  const spec = String(o.storage);
  if (spec === 'memory') {
    if (Number(o['host-budget']) > 0) throw new UsageError('--host-budget places rows in front of the SSD: it needs --storage ssd');
    return { kind: 'memory' };
  }
  const ssd = /^ssd(?::(.+))?$/.exec(spec);
  if (!ssd) throw new UsageError(`--storage: expected memory, ssd or ssd:DIR, got ${JSON.stringify(spec)}`);
  if (o['host-cache'] === 'lru' && Number(o['host-budget']) === 0) throw new UsageError('--host-cache lru caches rows in --host-budget: give it a size');
  if (o['run-dir'] === '' && !ssd[1]) throw new UsageError("--storage ssd keeps its files in the run directory: with --run-dir '' give a folder, ssd:DIR");
  return { kind: 'ssd', dir: ssd[1] ? resolve(ssd[1]) : null, readAhead: Number(o['read-ahead']), hostBudget: Number(o['host-budget']), hostCache: String(o['host-cache']) as 'placed' | 'lru', engine: String(o['io-engine']) as 'auto' | IoEngine, queueDepth: Number(o['io-depth']) };
}

/** What a run directory's config.json holds: the resolved configuration and the data's fingerprint. */
export type RunConfigFile = TrainConfig & { dataFingerprint: DataFingerprint | null };

/** The configuration a run directory was started with, to resume it. Its "options" are validated as a --config
 *  file is and resolved again; the resolved fields beside them are a copy for people and reports, so an edit there
 *  (which the resume would not see) is refused. */
export function readRunConfig(dir: string): { config: TrainConfig; dataFingerprint: DataFingerprint | null } {
  const file = join(dir, 'config.json');
  if (!existsSync(file)) throw new UsageError(`${dir}: no config.json, not a hotline run directory`);
  const saved = readJsonFile(file, (message) => new UsageError(message), parseExact) as Partial<RunConfigFile> | null;
  if (typeof saved !== 'object' || saved === null || !('options' in saved)) throw new UsageError(`${file}: no "options": not a hotline run configuration`);
  const config = trainConfigFrom([], optionsFrom(saved.options, `${file}: "options"`));
  for (const [key, value] of Object.entries(config)) {
    if (key === 'arch' || stringifyExact(value) === stringifyExact(saved[key as keyof TrainConfig])) continue;
    throw new UsageError(`${file}: "${key}" is ${stringifyExact(saved[key as keyof TrainConfig])?.slice(0, 80)}, but the run's "options" give ${stringifyExact(value).slice(0, 80)} (edit "options", not the resolved copy)`);
  }
  return { config, dataFingerprint: saved.dataFingerprint ?? null };
}
