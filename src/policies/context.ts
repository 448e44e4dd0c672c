/** A policy's context for a model: its home tables initialised from the model's seed, the host's memory as the fast
 *  tier's device (the CPU devices compute in host memory). */
import { freemem, totalmem } from 'node:os';
import type { BatchSource } from '../data/batch.ts';
import { HostTables } from '../embedding/tables.ts';
import type { Kernels } from '../kernels/kernels.ts';
import type { Dlrm } from '../model/dlrm.ts';
import type { Optimizer } from '../optim/optimizer.ts';
import type { PolicyContext } from './policy.ts';

export function policyContext(
  kernels: Kernels, model: Dlrm, optimizer: Optimizer, source: BatchSource, saved: PolicyContext['saved'] = null,
): PolicyContext {
  return {
    kernels, model, optimizer, source, saved, home: new HostTables(kernels, model.tables, model.seed),
    memory: () => ({ totalBytes: totalmem(), freeBytes: freemem() }),
  };
}
