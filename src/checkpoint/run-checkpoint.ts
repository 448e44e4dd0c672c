/**
 * A whole run as one checkpoint: the model and optimizer tensors, the policy's state (tensors under
 * `policy.`), the trainer's position and the sizes of the run's logs, so a resumed run continues exactly
 * and its logs carry no line twice.
 */
import type { TableStore } from '../embedding/table-store.ts';
import type { Model } from '../model/model.ts';
import type { Optimizer } from '../optim/optimizer.ts';
import type { Policy } from '../policies/policy.ts';
import type { RunDir } from '../train/run-dir.ts';
import type { TrainerState } from '../train/trainer.ts';
import { type Checkpoint, CheckpointError, type CheckpointStore, readingTensors } from './checkpoint-store.ts';
import { modelTensors, restoreModel } from './model-state.ts';
import { type ShapedTensor, shaped, type TensorReader } from '../util/tensors.ts';

const policyPrefix = 'policy.';

export interface RunParts {
  model: Model;
  home: TableStore;
  optimizer: Optimizer;
  policy: Policy;
  runDir: RunDir;
}

/** Saves the run at `trainer`'s position; `check` sees the model's settled tensors first and may refuse them. */
export async function saveRunCheckpoint(store: CheckpointStore, parts: RunParts, trainer: TrainerState, check?: (model: Map<string, ShapedTensor>) => void): Promise<string> {
  parts.policy.settle();
  parts.model.syncToHost(parts.optimizer.denseRule);
  const tensors = modelTensors(parts.model, parts.home, parts.optimizer);
  check?.(tensors);
  const policy = parts.policy.saveState();
  for (const [name, t] of policy.tensors) tensors.set(`${policyPrefix}${name}`, shaped(t));
  parts.home.beginCheckpoint(trainer.steps);
  const saved = await store.save(trainer.steps, { trainer, policyName: parts.policy.name, policy: policy.json, logs: parts.runDir.syncedLogSizes() }, tensors);
  parts.home.endCheckpoint(store.oldestStep());
  return saved;
}

/** The policy's tensors of a checkpoint. */
export function policyTensors(checkpoint: Checkpoint): TensorReader {
  const file = checkpoint.tensors;
  return { has: (name) => file.has(`${policyPrefix}${name}`), read: (name) => readingTensors(() => file.read(`${policyPrefix}${name}`)) };
}

/** Puts the model, optimizer, policy and logs back as the checkpoint holds them (a log that is not as the checkpoint
 *  left it is reported through `warn`); returns where training stands. */
export function restoreRunCheckpoint(checkpoint: Checkpoint, parts: RunParts, warn: (message: string) => void): TrainerState {
  const state = checkpoint.manifest.state as { trainer: TrainerState; policyName: string; policy: Record<string, unknown>; logs: Record<string, number> };
  if (state.policyName !== parts.policy.name) {
    throw new CheckpointError(`${checkpoint.path}: saved by policy ${state.policyName}, the run's config says ${parts.policy.name}`);
  }
  parts.home.rollBack(checkpoint.manifest.step);
  readingTensors(() => restoreModel(parts.model, parts.home, parts.optimizer, checkpoint.tensors));
  parts.model.syncFromHost();
  parts.policy.restoreState(state.policy, policyTensors(checkpoint));
  parts.runDir.truncateLogs(state.logs, warn);
  return state.trainer;
}
