/** A model and its optimizer as named tensors (checkpoints), and back. */
import type { HostTables } from '../embedding/tables.ts';
import type { Model } from '../model/model.ts';
import type { Optimizer } from '../optim/optimizer.ts';
import type { SafetensorsFile } from './safetensors.ts';
import type { TensorArray } from '../util/tensors.ts';

export function modelTensors(model: Model, home: HostTables, optimizer: Optimizer): Map<string, TensorArray> {
  const tensors = new Map<string, TensorArray>();
  for (const p of model.denseParams()) tensors.set(`dense.${p.name}`, p.value);
  home.weights.forEach((w, t) => tensors.set(`embedding.${t}`, w));
  home.states?.forEach((s, t) => tensors.set(`embedding_state.${t}`, s));
  for (const [name, state] of optimizer.denseStateEntries) tensors.set(`optimizer.${name}`, state);
  return tensors;
}

/** Overwrites every parameter and optimizer state with the file's (the model was built with the same arch). */
export function restoreModel(model: Model, home: HostTables, optimizer: Optimizer, file: SafetensorsFile): void {
  for (const p of model.denseParams()) file.readInto(`dense.${p.name}`, p.value);
  home.weights.forEach((w, t) => file.readInto(`embedding.${t}`, w));
  if (file.has('embedding_state.0')) {
    home.rowWiseStates(optimizer.config.initialAccumulator).forEach((s, t) => file.readInto(`embedding_state.${t}`, s));
  }
  for (const name of file.tensors.keys()) {
    if (name.startsWith('optimizer.')) optimizer.restoreDenseState(name.slice('optimizer.'.length), file.read(name) as Float32Array);
  }
}
