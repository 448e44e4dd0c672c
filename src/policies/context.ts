/** A policy's context for a model on a device: its home tables, initialised from the model's seed. */
import type { BatchSource } from '../data/batch.ts';
import type { Device } from '../device/device.ts';
import { HostTables } from '../embedding/tables.ts';
import type { Dlrm } from '../model/dlrm.ts';
import type { Optimizer } from '../optim/optimizer.ts';
import type { PolicyContext } from './policy.ts';

export function policyContext(device: Device, model: Dlrm, optimizer: Optimizer, source: BatchSource, saved: PolicyContext['saved'] = null): PolicyContext {
  return { device, model, optimizer, source, saved, home: new HostTables(device.kernels, model.tables, model.seed) };
}
