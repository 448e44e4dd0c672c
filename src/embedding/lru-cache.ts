/**
 * The peers' way to put host memory in front of the SSD (`--host-cache lru`; FBGEMM's SSD TBE, HugeCTR's training
 * cache): the rows recently used, whichever they are, in a compact table of `capacity` rows, the least recently used
 * evicted (written back to the SSD when changed). Reading ahead, as FBGEMM does, reserves a slot for each row an
 * upcoming batch misses and starts its read from the SSD at once; the batch's pool finishes the reads it needs. It
 * computes as the memory tier does (the same kernels on gathered rows), so it trains to the same bits.
 */
import type { Kernels, SlotLayout } from '../kernels/kernels.ts';
import { type Jagged, sameJagged } from '../tensor/jagged.ts';
import type { RowsRead, SsdTier } from './ssd-tier.ts';
import type { EmbeddingTier, SparseRule } from './tier.ts';

/** A batch's lookups in cache slots, and the reads ahead its slots still wait for. */
interface Mapped {
  ids: Jagged;
  local: Jagged;
}

/** Reads started ahead: the slots they fill, for the batch they were started for. */
interface Loading {
  ids: Jagged;
  slots: Int32Array;
  read: RowsRead;
}

export class LruCacheError extends Error {}

export class LruCache implements EmbeddingTier {
  readonly kind = 'ssd';
  readonly lane = null;
  readonly dim: number;
  private readonly values: Float32Array;
  private readonly states: Float32Array | null;
  /** row * tables + table -> slot, and back (-1: free). */
  private readonly slotOf = new Map<number, number>();
  private readonly keyOf: Float64Array;
  /** A doubly linked list of the slots, most recently used first (index capacity: its head and tail). */
  private readonly next: Int32Array;
  private readonly prev: Int32Array;
  private readonly listed: Uint8Array;
  private readonly dirty: Uint8Array;
  /** Slots whose row is still being read (a read ahead not yet finished). */
  private readonly pendingSlot: Uint8Array;
  private used = 0;
  private readonly loading: Loading[] = [];
  private mapped: Mapped | null = null;
  readonly stats = { lookups: 0, hits: 0, misses: 0, evictions: 0, writeBacks: 0 };

  constructor(private readonly kernels: Kernels, private readonly ssd: SsdTier, readonly capacity: number, withState: boolean) {
    if (capacity < 1) throw new LruCacheError('the lru cache holds no row: raise --host-budget');
    this.dim = ssd.dim;
    this.values = kernels.allocateTable(capacity * this.dim);
    this.states = withState ? kernels.allocateTable(capacity) : null;
    this.keyOf = new Float64Array(capacity).fill(-1);
    this.next = new Int32Array(capacity + 1);
    this.prev = new Int32Array(capacity + 1);
    this.next[capacity] = this.prev[capacity] = capacity;
    this.listed = new Uint8Array(capacity);
    this.dirty = new Uint8Array(capacity);
    this.pendingSlot = new Uint8Array(capacity);
  }

  get bytes(): number {
    return this.values.byteLength + (this.states?.byteLength ?? 0);
  }

  /** Reserves slots for the upcoming batch's misses and starts reading them. */
  prefetch(ids: Jagged): void {
    const { missing } = this.assign(ids);
    if (missing.tables.length === 0) return;
    this.loading.push({ ids, slots: missing.slots, read: this.ssd.startRows(missing.tables, missing.rows, this.states !== null) });
    for (const s of missing.slots) this.pendingSlot[s] = 1;
  }

  pool(ids: Jagged, layout: SlotLayout, out: Float32Array, accumulate = false): null {
    this.mapped = { ids, local: this.map(ids) };
    this.kernels.embeddingForward(this.tablesView(ids.tables), this.mapped.local, layout, out, accumulate);
    return null;
  }

  repool(): never {
    throw new Error('repool is a lane job: the lru cache pools inline');
  }

  update(ids: Jagged, layout: SlotLayout, grad: () => Float32Array, rule: SparseRule): null {
    const adagrad = rule.optimizer === 'rowwise-adagrad';
    if (adagrad && !this.states) throw new Error('the lru cache was built without optimizer state');
    const local = this.mapped?.ids === ids ? this.mapped.local : this.map(ids);
    this.mapped = null;
    const n = ids.tables;
    this.kernels.embeddingUpdate(this.tablesView(n), local, layout, grad(), { ...rule, states: adagrad ? Array(n).fill(this.states!) : null });
    for (const s of local.ids) this.dirty[s] = 1;
    return null;
  }

  readRows(tables: Int32Array, rows: Int32Array, into: Float32Array, state: Float32Array | null): void {
    this.finishLoads(null);
    const d = this.dim, away: number[] = [];
    for (let i = 0; i < rows.length; i++) {
      const s = this.slotOf.get(this.key(tables[i], rows[i]));
      if (s === undefined) away.push(i);
      else {
        into.set(this.values.subarray(s * d, (s + 1) * d), i * d);
        if (state) state[i] = this.states![s];
      }
    }
    if (away.length === 0) return;
    const v = new Float32Array(away.length * d), st = state && new Float32Array(away.length);
    this.ssd.readRows(Int32Array.from(away, (i) => tables[i]), Int32Array.from(away, (i) => rows[i]), v, st);
    away.forEach((i, k) => {
      into.set(v.subarray(k * d, (k + 1) * d), i * d);
      if (state) state[i] = st![k];
    });
  }

  writeRows(tables: Int32Array, rows: Int32Array, from: Float32Array, state: Float32Array | null): void {
    this.finishLoads(null);
    this.mapped = null;
    const d = this.dim, away: number[] = [];
    for (let i = 0; i < rows.length; i++) {
      const s = this.slotOf.get(this.key(tables[i], rows[i]));
      if (s === undefined) away.push(i);
      else {
        this.values.set(from.subarray(i * d, (i + 1) * d), s * d);
        if (state) this.states![s] = state[i];
        this.dirty[s] = 1;
      }
    }
    if (away.length === 0) return;
    const v = new Float32Array(away.length * d);
    away.forEach((i, k) => v.set(from.subarray(i * d, (i + 1) * d), k * d));
    this.ssd.writeRows(Int32Array.from(away, (i) => tables[i]), Int32Array.from(away, (i) => rows[i]), v, state && Float32Array.from(away, (i) => state[i]));
  }

  /** Writes every changed row back to the SSD (a checkpoint's or an evaluation's tables are then the files). */
  flush(): void {
    this.finishLoads(null);
    const slots: number[] = [];
    for (let s = 0; s < this.used; s++) if (this.dirty[s]) slots.push(s);
    this.writeBack(Int32Array.from(slots));
  }

  release(): void {
    this.finishLoads(null);
  }

  private key(t: number, row: number): number {
    return row * this.ssd.tables.length + t;
  }

  /** The compact table as every table's (the slots are unique across tables). */
  private tablesView(tables: number): Float32Array[] {
    return Array(tables).fill(this.values);
  }

  /** The batch's lookups as slots: the reads ahead up to this batch's finished (all of them when it uses a row still
   *  loading for another: read ahead for other ids, as after a placement changed), the rest of its misses read now. */
  private map(ids: Jagged): Jagged {
    this.finishLoads(ids);
    const { slots, missing } = this.assign(ids);
    if (slots.some((s) => this.pendingSlot[s])) this.finishLoads(null);
    if (missing.tables.length > 0) {
      const v = new Float32Array(missing.tables.length * this.dim), st = this.states && new Float32Array(missing.tables.length);
      this.ssd.readRows(missing.tables, missing.rows, v, st);
      this.fill(missing.slots, v, st);
    }
    return { ...ids, ids: slots };
  }

  /**
   * Slots for every lookup of the batch, most recently used now; each missing row gets a free slot or the least
   * recently used one that this batch does not use (written back first when changed). Returns the lookups' slots and
   * the missing rows (in slot order).
   */
  private assign(ids: Jagged): { slots: Int32Array; missing: { tables: Int32Array; rows: Int32Array; slots: Int32Array } } {
    const { bags } = ids, n = ids.ids.length, slots = new Int32Array(n), fresh = new Map<number, number>();
    const missTables: number[] = [], missRows: number[] = [], missSlots: number[] = [];
    const batchKeys = new Set<number>();
    for (let t = 0; t < ids.tables; t++) {
      for (let q = ids.offsets[t * bags]; q < ids.offsets[(t + 1) * bags]; q++) batchKeys.add(this.key(t, ids.ids[q]));
    }
    if (batchKeys.size > this.capacity) {
      throw new LruCacheError(`a batch uses ${batchKeys.size.toLocaleString('en-US')} distinct rows, more than the lru cache's ${this.capacity.toLocaleString('en-US')}: raise --host-budget`);
    }
    this.stats.lookups += n;
    for (let t = 0; t < ids.tables; t++) {
      for (let q = ids.offsets[t * bags]; q < ids.offsets[(t + 1) * bags]; q++) {
        const key = this.key(t, ids.ids[q]);
        let s = this.slotOf.get(key);
        if (s !== undefined) {
          this.stats.hits++;
        } else if ((s = fresh.get(key)) === undefined) {
          this.stats.misses++;
          s = this.take(batchKeys);
          this.slotOf.set(key, s);
          this.keyOf[s] = key;
          fresh.set(key, s);
          missTables.push(t);
          missRows.push(ids.ids[q]);
          missSlots.push(s);
        }
        this.touch(s);
        slots[q] = s;
      }
    }
    return { slots, missing: { tables: Int32Array.from(missTables), rows: Int32Array.from(missRows), slots: Int32Array.from(missSlots) } };
  }

  /** A free slot, or the least recently used one holding no row of `keep` (its row written back when changed). */
  private take(keep: Set<number>): number {
    if (this.used < this.capacity) return this.used++;
    let s = this.prev[this.capacity];
    while (s !== this.capacity && (keep.has(this.keyOf[s]) || this.pendingSlot[s])) s = this.prev[s];
    if (s === this.capacity) throw new LruCacheError('every lru cache slot holds a row of a batch in flight: raise --host-budget or lower --read-ahead');
    if (this.dirty[s]) this.writeBack(Int32Array.of(s));
    this.slotOf.delete(this.keyOf[s]);
    this.keyOf[s] = -1;
    this.stats.evictions++;
    return s;
  }

  private writeBack(slots: Int32Array): void {
    if (slots.length === 0) return;
    const n = this.ssd.tables.length, d = this.dim;
    const tables = Int32Array.from(slots, (s) => this.keyOf[s] % n), rows = Int32Array.from(slots, (s) => Math.floor(this.keyOf[s] / n));
    const v = new Float32Array(slots.length * d), st = this.states && new Float32Array(slots.length);
    slots.forEach((s, i) => {
      v.set(this.values.subarray(s * d, (s + 1) * d), i * d);
      if (st) st[i] = this.states![s];
      this.dirty[s] = 0;
    });
    this.ssd.writeRows(tables, rows, v, st);
    this.stats.writeBacks += slots.length;
  }

  /** Moves a slot to the front of the list (most recently used). */
  private touch(s: number): void {
    const head = this.capacity;
    if (this.next[head] === s) return;
    if (this.listed[s]) {
      this.next[this.prev[s]] = this.next[s];
      this.prev[this.next[s]] = this.prev[s];
    }
    this.listed[s] = 1;
    this.next[s] = this.next[head];
    this.prev[s] = head;
    this.prev[this.next[head]] = s;
    this.next[head] = s;
  }

  /** Finishes the reads ahead started before (and for) this batch; null: all of them. */
  private finishLoads(until: Jagged | null): void {
    const at = until ? this.loading.findIndex((l) => sameJagged(l.ids, until)) : this.loading.length - 1;
    if (at < 0) return;
    for (const load of this.loading.splice(0, at + 1)) {
      const v = new Float32Array(load.slots.length * this.dim), st = this.states && new Float32Array(load.slots.length);
      this.ssd.finishRows(load.read, v, st);
      this.fill(load.slots, v, st);
      for (const s of load.slots) this.pendingSlot[s] = 0;
    }
  }

  private fill(slots: Int32Array, values: Float32Array, states: Float32Array | null): void {
    const d = this.dim;
    slots.forEach((s, i) => {
      this.values.set(values.subarray(i * d, (i + 1) * d), s * d);
      if (states) this.states![s] = states[i];
      this.dirty[s] = 0;
    });
  }
}
