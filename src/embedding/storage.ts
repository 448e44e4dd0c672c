/** The home storage a run asks for (`--storage memory|ssd[:DIR]`), opened for a new run or a resumed one. */
import type { Kernels } from '../kernels/kernels.ts';
import { SsdTables, type SsdStorage } from './ssd-tables.ts';
import type { TableStore } from './table-store.ts';
import { HostTables, type TableConfig } from './tables.ts';

export type StorageSpec = { kind: 'memory' } | ({ kind: 'ssd' } & SsdStorage);

/** The tables as a new run initialises them, or (resumed) as the run left them, before its checkpoint rolls them back. */
export function openTableStore(
  spec: StorageSpec, kernels: Kernels, tables: readonly TableConfig[], seed: number, state: { initial: number } | null, resumed: boolean,
): TableStore {
  if (spec.kind === 'memory') return new HostTables(kernels, tables, seed);
  return resumed ? SsdTables.open(spec, kernels, tables, state !== null) : SsdTables.create(spec, kernels, tables, seed, state);
}
