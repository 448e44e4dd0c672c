/** A placement in a checkpoint (FAE's and Hotline's): its slots and tier ends as tensors. */
import type { TensorArray, TensorReader } from '../util/tensors.ts';
import { Placement } from './placement.ts';

export function savePlacement(p: Placement, tensors: Map<string, TensorArray>, prefix = 'placement.'): void {
  tensors.set(`${prefix}tableOfSlot`, p.tableOfSlot);
  tensors.set(`${prefix}rowOfSlot`, p.rowOfSlot);
  tensors.set(`${prefix}tierEnd`, p.tierEnd);
}

export function restorePlacement(tensors: TensorReader, tableRows: readonly number[], prefix = 'placement.'): Placement {
  const read = (name: string) => tensors.read(`${prefix}${name}`) as Int32Array;
  return new Placement(tableRows, read('tableOfSlot'), read('rowOfSlot'), read('tierEnd'));
}
