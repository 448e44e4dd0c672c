/** The tiers a policy trains on, built from its context: the home tier (the host tables) and a placed fast tier. */
import type { Placement } from '../embedding/placement.ts';
import { bytesPerRow, type TierBudget } from '../embedding/planner.ts';
import { compactTier, type EmbeddingTier } from '../embedding/tier.ts';
import type { Lane } from '../io/lane.ts';
import { HostChangeMeter, type RowChangeMeter } from '../popularity/staleness.ts';
import { formatBytes } from '../util/bytes.ts';
import { ConfigError } from '../util/errors.ts';
import type { PolicyContext } from './policy.ts';

export class FastTierError extends ConfigError {}

/** Every row of every table, pooled inline or, with a lane (where the store's work can go there), as jobs on it. */
export function homeTier(ctx: PolicyContext, lane: Lane | null = null): EmbeddingTier {
  return ctx.home.tier(ctx.optimizer.rowState, lane);
}

/** A placed tier's budget: each row costs its weights and the row-wise state the optimizer keeps with it. */
export function tierBudget(ctx: PolicyContext, budgetBytes: number): TierBudget {
  return { budgetBytes, bytesPerRow: bytesPerRow(ctx.home.dim, ctx.optimizer.rowState ? 1 : 0) };
}

/** Placed tier k in the device's memory (one compact table: on a GPU, beside the model), refused when the device
 *  cannot hold it. */
export function fastTier(ctx: PolicyContext, placement: Placement, k: number): EmbeddingTier {
  const { home, optimizer } = ctx, rows = placement.rowsIn(k), state = optimizer.rowState;
  const rowBytes = tierBudget(ctx, 0).bytesPerRow, bytes = rows * rowBytes, free = ctx.device.memory().freeBytes;
  if (bytes > free) {
    throw new FastTierError(
      `the fast tier needs ${formatBytes(bytes)} (${rows.toLocaleString('en-US')} rows x ${rowBytes} bytes) ` +
        `but the device has ${formatBytes(free)} free; lower --hot-budget`,
    );
  }
  return ctx.model.deviceTier?.(rows, state) ?? compactTier('device', ctx.device.kernels, home.tables.length, rows, home.dim, state);
}

/** Placed tier k in host memory (one compact table), pooled inline or, with a lane, as jobs on it. */
export function hostTier(ctx: PolicyContext, placement: Placement, k: number, lane: Lane | null): EmbeddingTier {
  return compactTier('host', ctx.device.kernels, ctx.home.tables.length, placement.rowsIn(k), ctx.home.dim, ctx.optimizer.rowState, lane);
}

/** The placed tiers' budgets, fastest first: --hot-budget's, then the host memory the store keeps in front of it (filled
 *  past the ranked rows by id order: see the planner), less the hot rows' copy when it keeps one (FAE). */
export function placedBudgets(ctx: PolicyContext, hotBudgetBytes: number, hostMirrorsHot = false): TierBudget[] {
  const hot = tierBudget(ctx, hotBudgetBytes), host = ctx.home.hostBudget - (hostMirrorsHot ? hotBudgetBytes : 0);
  return ctx.home.hostBudget > 0 ? [hot, { ...tierBudget(ctx, Math.max(0, host)), fillByIdOrder: true }] : [hot];
}

/** Slipstream's meter of how far placed tier k's rows moved: where the tier keeps its rows when it can measure
 *  there (a GPU tier), else on copies read to the host. */
export function changeMeter(tier: EmbeddingTier, placement: Placement, k: number): RowChangeMeter {
  return tier.changeMeter?.() ?? new HostChangeMeter(() => readTier(tier, placement, k), tier.dim);
}

/** A copy of placed tier k's rows, slot by slot. */
function readTier(tier: EmbeddingTier, placement: Placement, k: number): Float32Array {
  const { tables } = placement.slotsOf(k), slots = Int32Array.from({ length: tables.length }, (_, s) => s);
  const rows = new Float32Array(tables.length * tier.dim);
  tier.readRows(tables, slots, rows, null);
  return rows;
}
