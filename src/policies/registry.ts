/**
 * The policies by name: what each needs, how it is built, and what it is, in one line. The CLI and the benchmarks
 * build policies through this table only, so a new policy is one entry here.
 */
import { DatasetSource } from '../data/sources.ts';
import { ConfigError } from '../util/errors.ts';
import { BaselinePolicy } from './baseline.ts';
import { DeviceOnlyPolicy } from './device-only.ts';
import { type FaeOptions, FaePolicy } from './fae.ts';
import { type HotlineOptions, HotlinePolicy } from './hotline.ts';
import type { Policy, PolicyContext } from './policy.ts';
import type { StalenessOptions } from './slipstream.ts';

/** Every policy's options; each takes its share. */
export interface PolicyOptions {
  seed: number;
  fae: Omit<FaeOptions, 'seed' | 'staleness'>;
  hotline: Omit<HotlineOptions, 'seed' | 'staleness' | 'budgetBytes' | 'hysteresis'>;
  staleness: StalenessOptions;
}

export class PolicyError extends ConfigError {}

interface PolicyEntry {
  summary: string;
  /** Profiles the dataset in memory before training (not a stream, not generated batches). */
  needsRowsInMemory: boolean;
  /** Keeps hot rows in a fast tier under --hot-budget. */
  fastTier: boolean;
  create(ctx: PolicyContext, o: PolicyOptions): Policy;
}

const fae = (ctx: PolicyContext, o: PolicyOptions, staleness?: StalenessOptions) =>
  new FaePolicy(ctx, ctx.source as DatasetSource, { ...o.fae, seed: o.seed, staleness });
const hotline = (ctx: PolicyContext, o: PolicyOptions, staleness?: StalenessOptions) =>
  new HotlinePolicy(ctx, { ...o.hotline, budgetBytes: o.fae.budgetBytes, hysteresis: 1.5, seed: o.seed, staleness });

export const policies = {
  'baseline': { summary: 'every table in host memory', needsRowsInMemory: false, fastTier: false, create: (ctx) => new BaselinePolicy(ctx) },
  'device-only': {
    summary: 'every table in the device\'s memory (GPU-only on webgpu; refused when they do not fit)', needsRowsInMemory: false, fastTier: false,
    create: (ctx) => new DeviceOnlyPolicy(ctx),
  },
  'fae': { summary: 'profiled hot rows in a fast tier, hot and cold mini-batches', needsRowsInMemory: true, fastTier: true, create: (ctx, o) => fae(ctx, o) },
  'hotline': { summary: 'popular rows learned at run time, host rows gathered on a lane', needsRowsInMemory: false, fastTier: true, create: (ctx, o) => hotline(ctx, o) },
  'slipstream': { summary: 'fae skipping hot inputs whose rows went stale', needsRowsInMemory: true, fastTier: true, create: (ctx, o) => fae(ctx, o, o.staleness) },
  'hotline+slipstream': { summary: 'hotline skipping popular inputs whose rows went stale', needsRowsInMemory: false, fastTier: true, create: (ctx, o) => hotline(ctx, o, o.staleness) },
} satisfies Record<string, PolicyEntry>;

export type PolicyName = keyof typeof policies;

export const policyNames = Object.keys(policies) as PolicyName[];

export function policyEntry(name: PolicyName): PolicyEntry {
  return policies[name];
}

/** Builds the named policy, refusing what its requirements rule out. */
export function createPolicy(name: PolicyName, ctx: PolicyContext, options: PolicyOptions): Policy {
  const entry: PolicyEntry = policies[name];
  if (entry.needsRowsInMemory && !(ctx.source instanceof DatasetSource)) {
    throw new PolicyError(`--policy ${name} profiles a dataset held in memory (not --shuffle-buffer or generated batches)`);
  }
  return entry.create(ctx, options);
}
