/**
 * `hotline train`: builds data, model, optimizer and policy from a TrainConfig and runs the trainer, in a new
 * run directory, or (`--resume RUN_DIR`) in an existing one from its newest sound checkpoint.
 */
import { totalmem } from 'node:os';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonFile } from '../util/os-error.ts';
import { checkMemoryNeed } from '../model/memory-need.ts';
import { type Checkpoint, CheckpointError, CheckpointStore } from '../checkpoint/checkpoint-store.ts';
import { policyTensors, restoreRunCheckpoint, type RunParts, saveRunCheckpoint } from '../checkpoint/run-checkpoint.ts';
import { openDevice } from '../device/registry.ts';
import { CpuDevice } from '../device/cpu-device.ts';
import type { Device } from '../device/device.ts';
import { describeArch, type DlrmArch, validateArch } from '../model/arch.ts';
import { createModel, type ModelSpec } from '../model/create-model.ts';
import type { Model } from '../model/model.ts';
import { describeTbsmArch, validateTbsmArch } from '../model/tbsm/tbsm-arch.ts';
import type { StorageSpec } from '../embedding/storage.ts';
import { ioEngines } from '../io/block-file.ts';
import type { PolicyContext } from '../policies/policy.ts';
import { Optimizer } from '../optim/optimizer.ts';
import { policyContext } from '../policies/context.ts';
import { createPolicy, policyEntry } from '../policies/registry.ts';
import { analyzeAccesses, standardBudgets } from '../popularity/analysis.ts';
import { bytesPerRow } from '../embedding/planner.ts';
import { environment } from '../train/environment.ts';
import { formatMetrics } from '../train/metrics.ts';
import { formatRate, Progress } from '../train/progress.ts';
import { RunDir } from '../train/run-dir.ts';
import { DatasetSource } from '../data/sources.ts';
import { DivergenceError, Trainer, type TrainerState, type TrainResult } from '../train/trainer.ts';
import { firstNonFinite } from '../data/scan.ts';
import { checkThreads, UsageError } from './options.ts';
import { type PreparedData, prepareData, tableNames } from './prepare-data.ts';
import { readRunConfig, type RunConfigFile, type StorageConfig, type TrainConfig } from './train-config.ts';
import { type DataFingerprint, datasetFingerprint, fileFingerprint } from '../data/fingerprint.ts';
import { DataError } from '../util/errors.ts';
import type { ShapedTensor } from '../util/tensors.ts';

/** With checkpoints on, the first SIGINT or SIGTERM stops the run at the end of the step, after a checkpoint. */
function stopSignals(): { requested: () => boolean; release: () => void } {
  let requested = false;
  const onSignal = () => (requested = true);
  const signals = ['SIGINT', 'SIGTERM'] as const;
  for (const s of signals) process.once(s, onSignal);
  return { requested: () => requested, release: () => signals.forEach((s) => process.off(s, onSignal)) };
}

/** Continues the run in `dir` with the configuration it was started with. */
export interface TrainingRun {
  result: TrainResult;
  /** The run directory (null with --run-dir ''). */
  runDir: string | null;
}

export function resumeTraining(dir: string, out: NodeJS.WriteStream = process.stdout): Promise<TrainingRun> {
  const { config, dataFingerprint } = readRunConfig(dir);
  const runDir = new RunDir(dir); // locked before the data is looked at: a second resume is refused at once
  useRecordedGemm(dir);
  const now = fingerprintOf(config);
  if (now?.sha256 !== dataFingerprint?.sha256) {
    const show = (f: DataFingerprint | null) => (f ? `${f.path} (${f.summary})` : 'none');
    throw new DataError(`${dir}: the run trained on ${show(dataFingerprint)}; the data is now ${show(now)}. Resume needs the same data`);
  }
  return runTraining(config, out, runDir);
}

/**
 * A resumed run computes with the GEMM the run chose (the addon times its own GEMM against OpenBLAS once per
 * process and keeps the faster; another choice rounds differently, so the resumed parameters would differ in their
 * last bits). An explicit HOTLINE_GEMM wins.
 */
function useRecordedGemm(dir: string): void {
  const file = join(dir, 'environment.json');
  if (process.env.HOTLINE_GEMM || !existsSync(file)) return;
  const kernels = String((readJsonFile(file, (m) => new UsageError(m)) as { kernels?: unknown }).kernels ?? '');
  const gemm = /GEMM: own/.test(kernels) ? 'own' : /GEMM: OpenBLAS/.test(kernels) ? 'openblas' : null;
  if (gemm) process.env.HOTLINE_GEMM = gemm;
}

/** The fingerprint of the configured data; null for data generated from the configuration itself. */
function fingerprintOf(config: TrainConfig): DataFingerprint | null {
  if (config.data.kind === 'binary') return datasetFingerprint(config.data.path);
  return config.data.kind === 'dataset' ? fileFingerprint(config.data.path) : null;
}

/** Trains as configured: a new run, or the resumed run in `resumed`. */
export async function runTraining(config: TrainConfig, out: NodeJS.WriteStream = process.stdout, resumed?: RunDir): Promise<TrainingRun> {
  const device = await openDevice(config.device, config.backend, config.threads);
  try {
    return await train(config, device, out, resumed);
  } finally {
    await device.dispose?.();
  }
}

async function train(config: TrainConfig, device: Device, out: NodeJS.WriteStream, resumed?: RunDir): Promise<TrainingRun> {
  // A resumed run's dataset files are verified against their checksums: the run must go on with the same bytes.
  const prepared = prepareData(config, device, Boolean(resumed));
  const spec = modelSpec(config, prepared), arch = spec.kind === 'dlrm' ? spec.arch : spec.arch.tower;
  // TBSM's tower runs on every event of a sample.
  const events = spec.kind === 'tbsm' ? spec.arch.tsLength + 1 : 1;
  checkMemoryNeed(arch, {
    batchSize: config.batchSize * events, testBatchSize: config.testBatchSize * events, adagrad: config.optimizer === 'adagrad', availableBytes: totalmem(),
    tablesOnDisk: config.storage.kind === 'ssd',
    tablesFrom: config.data.kind === 'random' ? '--arch-embedding-size' : `the tables of ${config.data.kind === 'synthetic' ? 'the synthetic set' : config.data.path}`,
  });
  const runDir = resumed ?? (config.runDir ? RunDir.create(config.runDir, config.policy.replace('+', '-')) : null);
  const store = runDir && config.checkpointEvery > 0 ? new CheckpointStore(join(runDir.path, 'checkpoints'), config.keepCheckpoints) : null;
  const checkpoint = resumed ? (await store?.latest((message) => out.write(`hotline: ${message}\n`))) ?? null : null;
  if (resumed && !checkpoint) throw new CheckpointError(`${resumed.path}: no sound checkpoint to resume from`);
  const threadsWarning = checkThreads(config.threads, '--threads');
  if (threadsWarning) out.write(`hotline: ${threadsWarning}\n`);
  out.write(`hotline: ${spec.kind === 'dlrm' ? describeArch(arch) : describeTbsmArch(spec.arch)}\n${device instanceof CpuDevice ? 'kernels' : 'device'}: ${device.describe()}\n`);
  const model = createModel(device, spec, config.seed, tableNames(config));
  const optimizer = new Optimizer({
    name: config.optimizer, lr: config.learningRate, eps: 1e-10, initialAccumulator: config.adagradInitialAccumulator,
  });
  const saved = checkpoint && { json: (checkpoint.manifest.state as { policy: Record<string, unknown> }).policy, tensors: policyTensors(checkpoint) };
  const ctx = policyContext(device, model, optimizer, prepared.source, saved, storageSpec(config.storage, runDir)), { home } = ctx;
  try {
    return await trainOn(config, device, out, { spec, runDir, store, checkpoint, model, optimizer, ctx, prepared });
  } finally {
    home.release();
  }
}

/** The configured model for the data: the bottom MLP's input is the data's dense features (13 for Criteo, none for
 *  MovieLens or libFM sources; for TBSM, each event's share of a sample's). */
function modelSpec(config: TrainConfig, prepared: PreparedData): ModelSpec {
  const events = config.tbsm ? config.tbsm.tsLength + 1 : 1;
  const arch: DlrmArch = { ...config.arch, tableRows: prepared.tableRows, bottomMlp: [prepared.denseFeatures / events, ...config.arch.bottomMlp.slice(1)] };
  if (!config.tbsm) return { kind: 'dlrm', arch: validateArch(arch) };
  return { kind: 'tbsm', arch: validateTbsmArch({ tower: arch, ...config.tbsm }) };
}

/** The home storage of the configured tables: an ssd folder defaults to the run directory's tables/. */
function storageSpec(storage: StorageConfig, runDir: RunDir | null): StorageSpec {
  if (storage.kind === 'memory') return storage;
  const engine = storage.engine === 'auto' ? ioEngines().at(-1)! : storage.engine;
  if (!ioEngines().includes(engine)) throw new UsageError(`--io-engine ${engine}: not available here (${ioEngines().join(', ')} are)`);
  return { kind: 'ssd', dir: storage.dir ?? join(runDir!.path, 'tables'), readAhead: storage.readAhead, hostBudget: storage.hostBudget, hostCache: storage.hostCache, io: { engine, queueDepth: storage.queueDepth } };
}

interface Built {
  spec: ModelSpec;
  runDir: RunDir | null;
  store: CheckpointStore | null;
  checkpoint: Checkpoint | null;
  model: Model;
  optimizer: Optimizer;
  ctx: PolicyContext;
  prepared: PreparedData;
}

/** Trains the built run: restores its checkpoint or records its configuration, runs the trainer, reports. */
async function trainOn(config: TrainConfig, device: Device, out: NodeJS.WriteStream, b: Built): Promise<TrainingRun> {
  const { spec, runDir, store, checkpoint, model, optimizer, ctx, prepared } = b, { home } = ctx;
  const policy = createPolicy(config.policy, ctx, { seed: config.seed, fae: config.fae, hotline: config.hotline, staleness: config.staleness });
  const parts: RunParts | null = runDir ? { model, home, optimizer, policy, runDir } : null;
  let from: TrainerState | undefined;
  if (parts && checkpoint) {
    from = restoreRunCheckpoint(checkpoint, parts, (message) => out.write(`hotline: ${message}\n`));
    parts.runDir.append('events.jsonl', { step: from.steps, event: 'resume', checkpoint: checkpoint.name, environment: environment(device, config) });
    out.write(`resumed from ${checkpoint.path} at step ${from.steps}\n`);
  } else if (runDir) {
    runDir.writeJson('config.json', { ...config, arch: spec.kind === 'dlrm' ? spec.arch : spec.arch.tower, dataFingerprint: fingerprintOf(config) } satisfies RunConfigFile);
    runDir.writeJson('environment.json', environment(device, config));
    if (prepared.source instanceof DatasetSource && policyEntry(config.policy).fastTier) {
      const rowBytes = bytesPerRow(home.dim, config.optimizer === 'adagrad' ? 1 : 0);
      const budgets = [...standardBudgets, config.fae.budgetBytes];
      runDir.writeJson('profile.json', analyzeAccesses(prepared.source.data, rowBytes, config.fae.samplingRate, config.seed, budgets, tableNames(config)));
    }
  }
  const chosen = policy.describe();
  for (const line of chosen) out.write(`${line}\n`);
  if (chosen.length > 0 && !checkpoint) runDir?.append('events.jsonl', { step: 0, event: 'hot-set', ...policy.report() });
  const save = store && parts ? (state: TrainerState) => saveRunCheckpoint(store, parts, state, (tensors) => {
    const bad = firstNonFiniteTensor(tensors);
    if (bad) throw new DivergenceError(state.steps, state.epoch, `${bad} holds a value that is not a finite number`);
  }) : null;
  const trainer = new Trainer(model, home, policy, new Progress(out, config.printFreq), runDir, save);
  const stop = store ? stopSignals() : null;
  let result: TrainResult;
  try {
    result = await trainer.run(prepared.source, prepared.test, {
      epochs: config.epochs, testFreq: config.testFreq, evalBatchSize: config.testBatchSize, checkpointEvery: config.checkpointEvery,
      stopRequested: stop?.requested,
    }, from);
  } catch (error) {
    if (!(error instanceof DivergenceError)) throw error;
    runDir?.append('events.jsonl', { step: error.step, event: 'diverged', reason: error.what });
    throw new DivergenceError(error.step, error.epoch, `${error.what}. ${divergenceAdvice(config, store)}`);
  } finally {
    stop?.release();
  }
  if (result.stopped) {
    out.write(`\nstopped at step ${result.steps} and checkpointed; continue with: hotline train --resume ${runDir!.path}\n`);
    return { result, runDir: runDir!.path };
  }
  const storage = home.report?.();
  runDir?.writeJson('summary.json', { ...result, ...(storage && { storage }), runDir: runDir.path });
  if (runDir && policy.timeline().length > 0) runDir.writeJson('timeline.json', policy.timeline());
  for (const line of policy.summary(result.trainSeconds)) out.write(`${line}\n`);
  if (storage) out.write(`${describeStorage(storage, result.samples)}\n`);
  printSummary(result, out);
  if (runDir) out.write(`run directory: ${runDir.path}\n`);
  return { result, runDir: runDir?.path ?? null };
}

/** The SSD's work in a line: blocks read per sample trained (evaluations' reads included), reads hidden, cache hits. */
function describeStorage(s: Record<string, number>, samples: number): string {
  const cache = s.cacheLookups ? `, ${(100 * s.cacheHits / s.cacheLookups).toFixed(1)}% of lookups hit the lru cache` : '';
  return `ssd: ${s.blocksRead.toLocaleString('en-US')} blocks read (${(s.blocksRead / Math.max(1, samples)).toFixed(2)} a sample trained), ` +
    `${s.blocksWritten.toLocaleString('en-US')} written, ${(100 * s.hiddenReadShare).toFixed(0)}% of the read time hidden behind the compute${cache}`;
}

/** The first tensor holding NaN or an infinity, by name. */
function firstNonFiniteTensor(tensors: Map<string, ShapedTensor>): string | null {
  for (const [name, { data }] of tensors) if (data instanceof Float32Array && firstNonFinite(data) >= 0) return name;
  return null;
}

/** What most likely made a run diverge, and what is left of it. */
function divergenceAdvice(config: TrainConfig, store: CheckpointStore | null): string {
  const last = store?.list().at(-1);
  return `The likely cause is a learning rate too high for this model and data (--learning-rate ${config.learningRate}): ` +
    `try a smaller one. ${last ? `The last good checkpoint, ${join(store!.dir, last)}, is kept.` : 'No checkpoint was written.'}`;
}

function printSummary(result: TrainResult, out: NodeJS.WriteStream): void {
  const phases = Object.entries(result.phases).map(([k, v]) => `${k} ${v.toFixed(1)} s`).join(', ');
  out.write(
    `trained ${result.samples.toLocaleString('en-US')} samples in ${result.trainSeconds.toFixed(1)} s: ` +
      `${formatRate(result.samplesPerSecond)} samples/s (${phases})\n`,
  );
  if (result.test) out.write(`test ${formatMetrics(result.test)}\n`);
}
