/**
 * The training loop: mini-batches from the policy's schedule, one policy step each, progress and
 * metrics lines, evaluation on the held-out split every testFreq steps and at the end.
 */
import type { Dataset } from '../data/dataset.ts';
import type { Dlrm } from '../model/dlrm.ts';
import type { BatchSource, Policy } from '../policies/policy.ts';
import { evaluate } from './evaluate.ts';
import type { Metrics } from './metrics.ts';
import { PhaseTimes } from './phase-times.ts';
import type { Progress } from './progress.ts';
import type { RunDir } from './run-dir.ts';

export interface LoopOptions {
  epochs: number;
  /** Evaluate every testFreq steps (0: only at the end). */
  testFreq: number;
  evalBatchSize: number;
}

export interface TrainResult {
  steps: number;
  samples: number;
  trainSeconds: number;
  samplesPerSecond: number;
  finalLoss: number;
  test: Metrics | null;
  /** Seconds of embedding work, tier syncs and the rest (dense work) within trainSeconds. */
  phases: Record<string, number>;
  policy: Record<string, unknown>;
}

export class Trainer {
  constructor(
    private readonly model: Dlrm,
    private readonly policy: Policy,
    private readonly progress: Progress,
    private readonly runDir: RunDir | null,
  ) {}

  run(source: BatchSource, test: Dataset | null, options: LoopOptions): TrainResult {
    const totalSteps = this.policy.batchesPerEpoch(source) * options.epochs;
    const times = new PhaseTimes();
    this.model.times = times;
    let steps = 0, samples = 0, trainNs = 0n, windowLoss = 0, windowSamples = 0, lastLoss = NaN;
    let lastTest: Metrics | null = null;
    const runTest = (epoch: number) => {
      if (!test) return;
      this.policy.beforeEvaluation();
      lastTest = evaluate(this.model, test, options.evalBatchSize);
      const m = lastTest;
      this.progress.line(
        `test at step ${steps}: AUC ${m.auc.toFixed(4)} logloss ${m.logloss.toFixed(4)} accuracy ${(100 * m.accuracy).toFixed(2)}%`,
      );
      this.runDir?.appendMetrics({ kind: 'test', epoch, step: steps, ...m });
    };
    for (let epoch = 0; epoch < options.epochs; epoch++) {
      for (const batch of this.policy.schedule(source, epoch)) {
        const t0 = process.hrtime.bigint();
        const loss = this.policy.step(batch);
        trainNs += process.hrtime.bigint() - t0;
        steps++;
        samples += batch.size;
        windowLoss += loss * batch.size;
        windowSamples += batch.size;
        lastLoss = loss;
        const seconds = Number(trainNs) / 1e9;
        const rate = samples / seconds;
        this.progress.update({
          epoch, epochs: options.epochs, step: steps, totalSteps, samplesPerSecond: rate, loss: windowLoss / windowSamples,
          etaSeconds: ((totalSteps - steps) * seconds) / steps,
        });
        if (steps % 100 === 0 || steps === totalSteps) {
          this.runDir?.appendMetrics({ kind: 'train', epoch, step: steps, samples, loss: windowLoss / windowSamples, samplesPerSecond: rate });
          windowLoss = windowSamples = 0;
        }
        if (options.testFreq > 0 && steps % options.testFreq === 0 && steps < totalSteps) runTest(epoch);
      }
    }
    this.progress.finish();
    runTest(options.epochs - 1);
    this.model.times = null;
    const trainSeconds = Number(trainNs) / 1e9;
    const phases = times.toJSON();
    phases.dense = trainSeconds - (phases.embedding ?? 0) - (phases.sync ?? 0);
    return {
      steps, samples, trainSeconds, samplesPerSecond: samples / trainSeconds, finalLoss: lastLoss, test: lastTest, phases,
      policy: this.policy.report(),
    };
  }
}
