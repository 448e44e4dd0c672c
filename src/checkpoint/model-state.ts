/**
 * A model and its optimizer as named, shaped tensors (checkpoints), and back. The names follow the modules as a
 * PyTorch state dict would: `bottom_mlp.<l>.weight` [out, in] and `.bias` [out] (torch.nn.Linear's layout),
 * `top_mlp.<l>.*`, `embeddings.<table>.weight` [rows, dim] and `.adagrad_state` [rows] (row-wise Adagrad),
 * `optimizer.<param>.adagrad_state` (dense Adagrad, the shape of its parameter). Tables go by the data's column names;
 * tables on the SSD stay in their files (the store rolls them back), so only tables in memory are tensors here.
 */
import type { TableStore } from '../embedding/table-store.ts';
import type { Dlrm } from '../model/dlrm.ts';
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

/** Every MLP parameter with its module name and shape; the model's own names are matched by array. */
function denseTensors(model: Dlrm): DenseTensor[] {
  const byArray = new Map<Float32Array, { name: string; shape: number[] }>();
  for (const [module, mlp] of [['bottom_mlp', model.bottom], ['top_mlp', model.top]] as const) {
    mlp.layers.forEach((layer, l) => {
      byArray.set(layer.weight, { name: `${module}.${l}.weight`, shape: [layer.outputs, layer.inputs] });
      byArray.set(layer.bias, { name: `${module}.${l}.bias`, shape: [layer.outputs] });
    });
  }
  return model.denseParams().map((p) => {
    const found = byArray.get(p.value);
    if (!found) throw new Error(`dense parameter ${p.name} belongs to no MLP layer`);
    return { ...found, data: p.value, param: p.name };
  });
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

export function modelTensors(model: Dlrm, home: TableStore, optimizer: Optimizer): Map<string, ShapedTensor> {
  const tableNames = tableNamesOf(home);
  const tensors = new Map<string, ShapedTensor>(), dense = denseTensors(model), { tableRows, embeddingDim } = model.arch;
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
export function restoreModel(model: Dlrm, home: TableStore, optimizer: Optimizer, file: SafetensorsFile): void {
  const tableNames = tableNamesOf(home), memory = home.memory;
  const dense = denseTensors(model), { tableRows, embeddingDim } = model.arch;
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
