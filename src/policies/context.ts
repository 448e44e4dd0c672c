/** A policy's context for a model on a device: its home tables, initialised from the model's seed. */
import type { BatchSource } from '../data/batch.ts';
import type { Device } from '../device/device.ts';
import { openTableStore, type StorageSpec } from '../embedding/storage.ts';
import type { HostTables } from '../embedding/tables.ts';
import type { Model } from '../model/model.ts';
import type { Optimizer } from '../optim/optimizer.ts';
import type { PolicyContext } from './policy.ts';

/** With no storage given, the tables in host memory. */
export function policyContext(device: Device, model: Model, optimizer: Optimizer, source: BatchSource, saved?: PolicyContext['saved']): PolicyContext & { home: HostTables };
export function policyContext(device: Device, model: Model, optimizer: Optimizer, source: BatchSource, saved: PolicyContext['saved'], storage: StorageSpec): PolicyContext;
export function policyContext(
  device: Device, model: Model, optimizer: Optimizer, source: BatchSource, saved: PolicyContext['saved'] = null, storage: StorageSpec = { kind: 'memory' },
): PolicyContext {
  const home = openTableStore(storage, device.kernels, model.sparse.tables, model.seed, optimizer.rowState, saved !== null);
  return { device, model, optimizer, source, saved, home };
}
