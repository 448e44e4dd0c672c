/** A hot set in a checkpoint (FAE's and Hotline's): its slots as tensors, its budget as JSON. */
import { type HotSet, hotSetFromSlots } from '../popularity/hot-set.ts';
import type { TensorArray, TensorReader } from '../util/tensors.ts';

export interface SavedHotSet {
  budgetBytes: number;
  bytesPerRow: number;
}

export function saveHotSet(hot: HotSet, tensors: Map<string, TensorArray>): SavedHotSet {
  tensors.set('hot.tableOfSlot', hot.tableOfSlot);
  tensors.set('hot.rowOfSlot', hot.rowOfSlot);
  return { budgetBytes: hot.budgetBytes, bytesPerRow: hot.bytesPerRow };
}

export function restoreHotSet(saved: SavedHotSet, tensors: TensorReader, tableRows: number[]): HotSet {
  const tableOfSlot = tensors.read('hot.tableOfSlot') as Int32Array, rowOfSlot = tensors.read('hot.rowOfSlot') as Int32Array;
  return hotSetFromSlots(tableRows, tableOfSlot, rowOfSlot, saved.budgetBytes, saved.bytesPerRow);
}
