/**
 * The training loop: mini-batches from the policy's schedule, one policy step each, progress and
 * metrics lines, evaluation on the held-out split every testFreq steps and at the end, checkpoints every
 * checkpointEvery steps and at the end. A resumed run starts from a checkpoint's TrainerState.
 */
import type { Dataset } from '../data/dataset.ts';
import { emptyWorkload, type Workload, type WorkloadCounts, WorkloadMeter } from './workload.ts';
import type { Model } from '../model/model.ts';
import type { TableStore } from '../embedding/table-store.ts';
import type { BatchSource } from '../data/batch.ts';
import type { Policy } from '../policies/policy.ts';
import { evaluate } from './evaluate.ts';
import { formatMetrics, type Metrics } from './metrics.ts';
import { PhaseTimes } from '../util/phase-times.ts';
import type { Progress } from './progress.ts';
import type { RunDir } from './run-dir.ts';

export interface LoopOptions {
  epochs: number;
  /** Evaluate every testFreq steps (0: only at the end). */
  testFreq: number;
  evalBatchSize: number;
  /** Checkpoint every this many steps (0: none) and at the end. */
  checkpointEvery: number;
  /** Polled after each step: when true, the run checkpoints and stops (SIGINT, SIGTERM). The loop yields to the
   *  event loop every 200 ms so that signal handlers get to run. */
  stopRequested?: () => boolean;
}

/** Where training stands between two steps: what a checkpoint keeps of the loop. */
export interface TrainerState {
  /** The epoch in progress and the batches of it already trained. */
  epoch: number;
  stepInEpoch: number;
  steps: number;
  samples: number;
  trainNs: number;
  /** The loss over the samples since the last metrics line. */
  windowLoss: number;
  windowSamples: number;
  lastLoss: number;
  lastTest: Metrics | null;
  phasesNs: Record<string, number>;
  /** What the steps did (workload.ts); absent in a checkpoint written before it was counted. */
  workload?: WorkloadCounts;
  finished: boolean;
}

export const initialTrainerState = (): TrainerState => ({
  epoch: 0, stepInEpoch: 0, steps: 0, samples: 0, trainNs: 0, windowLoss: 0, windowSamples: 0, lastLoss: NaN, lastTest: null,
  phasesNs: {}, workload: emptyWorkload(), finished: false,
});

export interface TrainResult {
  steps: number;
  samples: number;
  trainSeconds: number;
  samplesPerSecond: number;
  finalLoss: number;
  test: Metrics | null;
  /** Seconds of embedding work, tier syncs and the rest (dense work) within trainSeconds. */
  phases: Record<string, number>;
  workload: Workload;
  policy: Record<string, unknown>;
  /** Stopped on request before the end (checkpointed: resume continues it). */
  stopped: boolean;
}

/** Training stopped because the loss or the parameters stopped being finite numbers. */
export class DivergenceError extends Error {
  constructor(readonly step: number, readonly epoch: number, readonly what: string) {
    super(`training diverged at step ${step} (epoch ${epoch + 1}): ${what}`);
  }
}

/** Saves a checkpoint of the run at the given state. */
export type Checkpointer = (state: TrainerState) => Promise<unknown>;

export class Trainer {
  private state = initialTrainerState();

  constructor(
    private readonly model: Model,
    private readonly home: TableStore,
    private readonly policy: Policy,
    private readonly progress: Progress,
    private readonly runDir: RunDir | null,
    private readonly checkpoint: Checkpointer | null = null,
  ) {
    // Policies decide within a step: the event carries that step's number.
    policy.events = (event, fields) => runDir?.append('events.jsonl', { step: this.state.steps + 1, event, ...fields });
  }

  async run(source: BatchSource, test: Dataset | null, options: LoopOptions, from: TrainerState = initialTrainerState()): Promise<TrainResult> {
    const s = (this.state = structuredClone(from));
    const totalSteps = this.policy.batchesPerEpoch(source) * options.epochs;
    const times = new PhaseTimes(s.phasesNs);
    this.model.times = times;
    const workload = new WorkloadMeter((s.workload ??= emptyWorkload()));
    const runTest = () => {
      if (!test) return;
      // Outside the training time, so outside its phases too (the test set's pools would make 'dense' negative).
      this.model.times = null;
      this.policy.settle();
      const m = (s.lastTest = evaluate(this.model, this.home, test, options.evalBatchSize));
      this.model.times = times;
      this.progress.line(`test at step ${s.steps}: ${formatMetrics(m)}`);
      this.runDir?.append('metrics.jsonl', { kind: 'test', epoch: s.epoch, step: s.steps, samples: s.samples, auc: m.auc, logloss: m.logloss, accuracy: m.accuracy, testRows: m.samples });
    };
    const save = async () => {
      s.phasesNs = times.nanoseconds();
      await this.checkpoint?.(structuredClone(s));
    };
    let stopped = false, lastYield = process.hrtime.bigint();
    epochs: for (; s.epoch < options.epochs && !s.finished; s.epoch++, s.stepInEpoch = 0) {
      for (const batch of this.policy.schedule(source, s.epoch, s.stepInEpoch)) {
        workload.observe(batch);
        const t0 = process.hrtime.bigint();
        const result = this.policy.step(batch);
        const loss = typeof result.loss === 'number' ? result.loss : await result.loss;
        s.trainNs += Number(process.hrtime.bigint() - t0);
        if (!Number.isFinite(loss)) throw new DivergenceError(s.steps + 1, s.epoch, `the loss is ${loss}`);
        s.steps++;
        s.stepInEpoch++;
        s.samples += result.samples;
        s.windowLoss += loss * result.samples;
        s.windowSamples += result.samples;
        s.lastLoss = loss;
        const seconds = s.trainNs / 1e9, rate = s.samples / seconds;
        this.progress.update({
          epoch: s.epoch, epochs: options.epochs, step: s.steps, totalSteps, samplesPerSecond: rate, loss: s.windowLoss / s.windowSamples,
          etaSeconds: (Math.max(0, totalSteps - s.steps) * seconds) / s.steps,
        });
        if (s.steps % 100 === 0 || s.steps === totalSteps) {
          this.runDir?.append('metrics.jsonl', {
            kind: 'train', epoch: s.epoch, step: s.steps, samples: s.samples, loss: s.windowLoss / s.windowSamples, samplesPerSecond: rate,
            trainSeconds: seconds, phases: times.toJSON(), ...this.policy.counters(),
          });
          s.windowLoss = s.windowSamples = 0;
        }
        if (options.testFreq > 0 && s.steps % options.testFreq === 0 && s.steps < totalSteps) runTest();
        if (options.checkpointEvery > 0 && s.steps % options.checkpointEvery === 0) await save();
        if (options.stopRequested && process.hrtime.bigint() - lastYield > 200_000_000n) {
          await new Promise(setImmediate);
          lastYield = process.hrtime.bigint();
        }
        if (options.stopRequested?.()) {
          if (options.checkpointEvery > 0 && s.steps % options.checkpointEvery !== 0) await save();
          stopped = true;
          break epochs;
        }
      }
    }
    this.progress.finish();
    this.policy.settle(); // the last step's work in flight lands in the home tables, with or without a test or a checkpoint
    if (!s.finished && !stopped) {
      s.epoch = options.epochs - 1;
      runTest();
      s.finished = true;
      if (options.checkpointEvery > 0) await save();
    }
    this.model.times = null;
    const trainSeconds = s.trainNs / 1e9;
    const phases = times.toJSON();
    phases.dense = trainSeconds - (phases.embedding ?? 0) - (phases.sync ?? 0);
    return {
      steps: s.steps, samples: s.samples, trainSeconds, samplesPerSecond: s.samples / trainSeconds, finalLoss: s.lastLoss, test: s.lastTest,
      phases, workload: workload.result(this.model), policy: this.policy.report(), stopped,
    };
  }
}
