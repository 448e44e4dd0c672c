/** Wall time spent per phase of training (embedding work, tier syncs, ...), accumulated in nanoseconds. */
export class PhaseTimes {
  private readonly totals: Map<string, bigint>;

  /** `from`: the totals of a checkpoint, in nanoseconds. */
  constructor(from: Record<string, number> = {}) {
    this.totals = new Map(Object.entries(from).map(([k, v]) => [k, BigInt(v)]));
  }

  add(phase: string, ns: bigint): void {
    this.totals.set(phase, (this.totals.get(phase) ?? 0n) + ns);
  }

  seconds(phase: string): number {
    return Number(this.totals.get(phase) ?? 0n) / 1e9;
  }

  nanoseconds(): Record<string, number> {
    return Object.fromEntries([...this.totals].map(([k, v]) => [k, Number(v)]));
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries([...this.totals].map(([k, v]) => [k, Number(v) / 1e9]));
  }
}
