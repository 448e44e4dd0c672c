/**
 * Every row of every table in the device's memory: on a GPU, the papers' "GPU-only" upper bound, where no lookup
 * crosses to the host (refused when the tables do not fit). The home tables are the checkpoint's copy: the device
 * rows are loaded from them before the first step after a settle, and the rows that changed go back at a settle.
 */
import { tableRowsOf } from '../model/model.ts';
import type { Batch } from '../data/batch.ts';
import { Placement } from '../embedding/placement.ts';
import type { EmbeddingTier } from '../embedding/tier.ts';
import { TierSync } from '../embedding/tier-sync.ts';
import { BaselinePolicy } from './baseline.ts';
import type { PolicyContext, StepResult } from './policy.ts';
import { fastTier, homeTier } from './tiers.ts';

/** Every row in tier 0, table after table. */
function everyRow(tableRows: readonly number[]): Placement {
  const total = tableRows.reduce((a, n) => a + n, 0), tableOfSlot = new Int32Array(total), rowOfSlot = new Int32Array(total);
  let s = 0;
  tableRows.forEach((n, t) => {
    for (let r = 0; r < n; r++, s++) {
      tableOfSlot[s] = t;
      rowOfSlot[s] = r;
    }
  });
  return new Placement(tableRows, tableOfSlot, rowOfSlot, Int32Array.of(total));
}

/** The baseline's schedule and bookkeeping, its lookups on the device tier. */
export class DeviceOnlyPolicy extends BaselinePolicy {
  override readonly name = 'device-only';
  private readonly placement: Placement;
  private readonly deviceRows: EmbeddingTier;
  private readonly sync: TierSync;
  /** Whether the device rows are current (false until the first step, and after a settle wrote them back). */
  private loaded = false;
  private rowsSynced = 0;

  constructor(private readonly ctx: PolicyContext) {
    super(ctx);
    this.placement = everyRow(tableRowsOf(ctx.model));
    this.deviceRows = fastTier(ctx, this.placement, 0);
    this.sync = new TierSync(ctx.device.kernels, this.placement, 0, this.deviceRows, homeTier(ctx), ctx.optimizer.rowState !== null);
  }

  override step(batch: Batch): StepResult {
    if (!this.loaded) {
      this.rowsSynced += this.sync.loadFromHome();
      this.loaded = true;
    }
    const slots = this.placement.split(this.ctx.device.kernels, batch.sparse)[0];
    const loss = this.stepper.on({ ...batch, sparse: slots }, this.deviceRows);
    this.sync.markPlacedUpdates(slots);
    return { samples: batch.size, loss };
  }

  override settle(): void {
    this.rowsSynced += this.sync.storeToHome();
    this.loaded = false;
  }

  override report(): Record<string, unknown> {
    return { deviceRows: this.placement.rowsIn(0), deviceBytes: this.deviceRows.bytes, rowsSynced: this.rowsSynced };
  }

  override describe(): string[] {
    return [`device-only: ${this.placement.rowsIn(0).toLocaleString('en-US')} rows (${(this.deviceRows.bytes / 2 ** 20).toFixed(1)} MiB) in the device's memory`];
  }
}
