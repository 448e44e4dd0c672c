/**
 * A model and its optimizer as named, shaped tensors (checkpoints), and back. The names follow the modules as a
 * PyTorch state dict would: `bottom_mlp.<l>.weight` [out, in] and `.bias` [out] (torch.nn.Linear's layout),
 * `top_mlp.<l>.*`, `embeddings.<table>.weight` [rows, dim] and `.adagrad_state` [rows] (row-wise Adagrad),
 * `optimizer.<param>.adagrad_state` (dense Adagrad, the shape of its parameter). Tables go by the data's column names;
 * tables on the SSD stay in their files (the store rolls them back), so only tables in memory are tensors here.
 */
import type { TableStore } from '../embedding/table-store.ts';
import { type Model, tableRowsOf } from '../model/model.ts';
import type { Optimizer } from '../optim/optimizer.ts';
import type { SafetensorsFile } from './safetensors.ts';
import { elementCount, type ShapedTensor } from '../util/tensors.ts';

interface DenseTensor extends ShapedTensor {
  data: Float32Array;
  /** The checkpoint's name, from the module. */
  name: string;
  /** The model's name for it (the optimizer keys its state by it). */
  param: string;
}

/** Every dense parameter with its checkpoint name: the tower's MLPs under PyTorch DLRM's module names, the rest (TBSM's
 *  time series layer) under the model's own. */
function denseTensors(model: Model): DenseTensor[] {
  const moduleName = (name: string) => name.replace(/^bottom\./, 'bottom_mlp.').replace(/^top\./, 'top_mlp.');
  return model.denseParams().map((p) => ({ name: moduleName(p.name), shape: p.shape, data: p.value, param: p.name }));
}

const adagradState = (name: string) => `optimizer.${name}.adagrad_state`;
const tableTensor = (table: string, what: 'weight' | 'adagrad_state') => `embeddings.${table}.${what}`;

/** The tables' names (the model's, from the data's columns), distinct, as the checkpoint's names need. */
function tableNamesOf(home: TableStore): string[] {
  const names = home.tables.map((t) => t.name);
  if (new Set(names).size !== names.length || names.some((n) => n === '')) {
    throw new Error(`a checkpoint needs ${names.length} distinct table names, got [${names.join(', ')}]`);
  }
  return names;
}

export function modelTensors(model: Model, home: TableStore, optimizer: Optimizer): Map<string, ShapedTensor> {
  const tableNames = tableNamesOf(home), tableRows = tableRowsOf(model), embeddingDim = home.dim;
  const tensors = new Map<string, ShapedTensor>(), dense = denseTensors(model);
  for (const { name, data, shape } of dense) tensors.set(name, { data, shape });
  home.memory?.weights.forEach((data, t) => {
    tensors.set(tableTensor(tableNames[t], 'weight'), { data, shape: [tableRows[t], embeddingDim] });
    const state = home.memory!.states?.[t];
    if (state) tensors.set(tableTensor(tableNames[t], 'adagrad_state'), { data: state, shape: [tableRows[t]] });
  });
  const states = new Map(optimizer.denseStateEntries);
  for (const { name, param, shape } of dense) {
    const data = states.get(param);
    if (data) tensors.set(adagradState(name), { data, shape });
  }
  return tensors;
}

/** Overwrites every parameter and optimizer state with the file's; a tensor of another shape than the model's
 *  (another arch) is refused by the file, naming it and both shapes. */
export function restoreModel(model: Model, home: TableStore, optimizer: Optimizer, file: SafetensorsFile): void {
  const tableNames = tableNamesOf(home), memory = home.memory, tableRows = tableRowsOf(model), embeddingDim = home.dim;
  const dense = denseTensors(model);
  for (const { name, data, shape } of dense) file.readInto(name, data, shape);
  memory?.weights.forEach((w, t) => file.readInto(tableTensor(tableNames[t], 'weight'), w, [tableRows[t], embeddingDim]));
  if (memory && file.has(tableTensor(tableNames[0], 'adagrad_state'))) {
    memory.rowWiseStates(optimizer.config.initialAccumulator).forEach((s, t) => file.readInto(tableTensor(tableNames[t], 'adagrad_state'), s, [tableRows[t]]));
  }
  for (const { name, param, shape } of dense) {
    if (!file.has(adagradState(name))) continue;
    const state = new Float32Array(elementCount(shape));
    file.readInto(adagradState(name), state, shape);
    optimizer.restoreDenseState(param, state);
  }
}
