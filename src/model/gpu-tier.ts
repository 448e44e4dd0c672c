/**
 * A placed tier in GPU memory: one compact table of rows (and their row-wise optimizer state), its slots unique
 * across tables. Its pools and updates do not run on their own: they are staged with the model whose programs run
 * the step (GpuDlrm), so a step on the device stays one request; an update runs at the start of the next program,
 * and anything that reads or writes rows from the host (tier syncs, snapshots) first runs what is still staged.
 * Row copies go through gather and scatter kernels, in chunks of at most `chunkRows` rows (2^20 unless told).
 */
import type { GpuProgram, GpuTensor, WebGpuDevice } from '../device/webgpu/webgpu-device.ts';
import { ArenaLayout, type KernelOp, type Program, type Transfer } from '../device/webgpu/program.ts';
import type { EmbeddingTier, SparseRule } from '../embedding/tier.ts';
import type { SlotLayout } from '../kernels/kernels.ts';
import type { RowChangeMeter } from '../popularity/staleness.ts';
import type { Jagged } from '../tensor/jagged.ts';

/** What a device tier asks of the model that runs the step's programs. */
export interface DeviceSteps {
  stagePool(tier: GpuTier, ids: Jagged, out: Float32Array, accumulate: boolean): void;
  stageUpdate(tier: GpuTier, ids: Jagged, layout: SlotLayout, rule: SparseRule): void;
  /** Runs the staged work that has not run yet. */
  flush(): void;
  /** The tier is gone: its staged work runs and the programs that name it are dropped. */
  forget(tier: GpuTier): void;
}


/** A program that copies rows between the tier and the arena: params [rows, rows x dim]. */
interface Copier {
  program: GpuProgram;
  ints: Int32Array;
  slots: { rows: number; values: number; states: number };
}

export class GpuTier implements EmbeddingTier {
  readonly kind = 'device';
  readonly lane = null;
  private readonly copiers = new Map<string, Copier>();
  private readonly chunk: number;
  private readonly packed: { rows: GpuTensor; values: GpuTensor; states: GpuTensor };

  /** weights: rows x dim floats; state: one float per row (row-wise Adagrad), or null. */
  constructor(
    private readonly gpu: WebGpuDevice, private readonly steps: DeviceSteps, readonly rows: number, readonly dim: number,
    readonly weights: GpuTensor, readonly state: GpuTensor | null, chunkRows = 1 << 20,
  ) {
    this.chunk = Math.max(1, Math.min(rows, chunkRows));
    this.packed = { rows: gpu.alloc('i32', [this.chunk]), values: gpu.alloc('f32', [this.chunk * dim]), states: gpu.alloc('f32', [this.chunk]) };
  }

  /** A tier of `rows` rows, zero until written (a tier sync loads it), state at `initial` when kept. */
  static create(gpu: WebGpuDevice, steps: DeviceSteps, rows: number, dim: number, state: { initial: number } | null, chunkRows?: number): GpuTier {
    const weights = gpu.alloc('f32', [rows * dim]), states = state ? gpu.alloc('f32', [rows]) : null;
    if (states) gpu.upload(new Float32Array(rows).fill(state!.initial), states);
    return new GpuTier(gpu, steps, rows, dim, weights, states, chunkRows);
  }

  get bytes(): number {
    return this.rows * (this.dim + (this.state ? 1 : 0)) * 4;
  }

  pool(ids: Jagged, _layout: SlotLayout, out: Float32Array, accumulate = false): null {
    this.steps.stagePool(this, ids, out, accumulate);
    return null;
  }

  repool(): never {
    throw new Error('repool is a lane job: the device tier is inline');
  }

  /** The gradient is the model's, on the device: its host copy is never asked for. */
  update(ids: Jagged, layout: SlotLayout, _grad: () => Float32Array, rule: SparseRule): null {
    if (rule.optimizer === 'rowwise-adagrad' && !this.state) throw new Error('the device tier was built without optimizer state');
    this.steps.stageUpdate(this, ids, layout, rule);
    return null;
  }

  /** Slots are unique across tables in a placed tier: `tables` is not needed. */
  readRows(_tables: Int32Array, slots: Int32Array, into: Float32Array, state: Float32Array | null): void {
    this.steps.flush();
    this.copyChunks(slots, 'gather', state !== null, (copier, from, count) => {
      const { program, slots: s } = copier, d = this.dim;
      into.set(program.arena.subarray(s.values, s.values + count * d), from * d);
      state?.set(program.arena.subarray(s.states, s.states + count), from);
    });
  }

  writeRows(_tables: Int32Array, slots: Int32Array, from: Float32Array, state: Float32Array | null): void {
    this.steps.flush();
    this.copyChunks(slots, 'scatter', state !== null, (copier, at, count) => {
      const { program, slots: s } = copier, d = this.dim;
      program.arena.set(from.subarray(at * d, (at + count) * d), s.values);
      if (state) program.arena.set(state.subarray(at, at + count), s.states);
    }, true);
  }

  /** Slipstream's meter on the device: the mark is a copy of the rows there, and only one float per row comes back. */
  changeMeter(): RowChangeMeter {
    return new GpuChangeMeter(this.gpu, this.steps, this);
  }

  /** Frees its memory on the device; the tier is not used again. */
  release(): void {
    this.steps.forget(this);
    for (const c of this.copiers.values()) c.program.release();
    for (const t of [this.weights, this.state, ...Object.values(this.packed)]) if (t) this.gpu.free(t);
  }

  /** Runs the copy program over `slots` chunk by chunk; `each` fills (before: scatter) or reads (after: gather) a chunk. */
  private copyChunks(
    slots: Int32Array, direction: 'gather' | 'scatter', withState: boolean, each: (c: Copier, from: number, count: number) => void, before = false,
  ): void {
    const copier = this.copier(direction, withState);
    for (let from = 0; from < slots.length; from += this.chunk) {
      const count = Math.min(this.chunk, slots.length - from);
      for (let i = 0; i < count; i++) {
        const slot = slots[from + i];
        if (slot < 0 || slot >= this.rows) throw new RangeError(`slot ${slot} is outside the device tier's ${this.rows} rows`);
      }
      copier.ints.set(slots.subarray(from, from + count), copier.slots.rows);
      if (before) each(copier, from, count);
      copier.program.run(0, [count, count * this.dim]);
      if (!before) each(copier, from, count);
    }
  }

  private copier(direction: 'gather' | 'scatter', withState: boolean): Copier {
    const key = `${direction} ${withState}`, known = this.copiers.get(key);
    if (known) return known;
    const arena = new ArenaLayout(), d = this.dim;
    const slots = { rows: arena.take(this.chunk), values: arena.take(this.chunk * d), states: arena.take(this.chunk) };
    const count = { param: 0 }, floats = { param: 1 }, { packed } = this;
    const pairs: [GpuTensor, GpuTensor, number][] = [[this.weights, packed.values, d]];
    if (withState) pairs.push([this.state!, packed.states, 1]);
    const kernels: KernelOp[] = pairs.map(([table, values, dim]) => direction === 'gather'
      ? { kernel: 'gatherRows', src: table.id, rows: packed.rows.id, dst: values.id, count, dim }
      : { kernel: 'scatterRows', src: values.id, rows: packed.rows.id, dst: table.id, count, dim });
    const values: Transfer[] = [{ slot: slots.values, tensor: packed.values.id, floats }];
    if (withState) values.push({ slot: slots.states, tensor: packed.states.id, floats: count });
    const ids: Transfer = { slot: slots.rows, tensor: packed.rows.id, floats: count };
    const program = this.gpu.compile(direction === 'gather'
      ? { arenaFloats: arena.floats, inputs: [ids], kernels, outputs: values }
      : { arenaFloats: arena.floats, inputs: [ids, ...values], kernels, outputs: [] });
    const copier = { program, ints: new Int32Array(program.arena.buffer), slots };
    this.copiers.set(key, copier);
    return copier;
  }
}

/** The mark is a device copy of the tier's rows; `since` runs the rowChange kernel against the rows as they are. */
class GpuChangeMeter implements RowChangeMeter {
  private before: { tensor: GpuTensor; change: GpuTensor; programs: Map<string, GpuProgram> } | null = null;

  constructor(private readonly gpu: WebGpuDevice, private readonly steps: DeviceSteps, private readonly tier: GpuTier) {}

  mark(rows?: Float32Array): void {
    this.clear();
    const { gpu, tier } = this, floats = tier.rows * tier.dim;
    if (rows && rows.length !== floats) throw new RangeError(`a mark of ${rows.length} floats for a device tier of ${floats}`);
    this.before = { tensor: gpu.alloc('f32', [floats]), change: gpu.alloc('f32', [tier.rows]), programs: new Map() };
    if (rows) {
      gpu.upload(rows, this.before.tensor);
      return;
    }
    const { tensor } = this.before, d = tier.dim;
    this.run('copy', () => ({
      arenaFloats: 0, inputs: [], outputs: [],
      kernels: [{ kernel: 'copy2d', src: tier.weights.id, srcStride: d, srcOffset: 0, dst: tensor.id, dstStride: d, dstOffset: 0, rows: tier.rows, cols: d }],
    }));
  }

  since(relative: boolean): Float32Array {
    const { tier } = this, { tensor, change } = this.marking();
    return this.run(`change ${relative}`, () => ({
      arenaFloats: tier.rows, inputs: [], outputs: [{ slot: 0, tensor: change.id, floats: tier.rows }],
      kernels: [{ kernel: 'rowChange', before: tensor.id, after: tier.weights.id, change: change.id, count: tier.rows, dim: tier.dim, relative }],
    })).slice(0, tier.rows);
  }

  marked(): Float32Array {
    const rows = new Float32Array(this.tier.rows * this.tier.dim);
    this.gpu.downloadNow(this.marking().tensor, rows);
    return rows;
  }

  clear(): void {
    if (!this.before) return;
    for (const p of this.before.programs.values()) p.release();
    this.gpu.free(this.before.tensor);
    this.gpu.free(this.before.change);
    this.before = null;
  }

  private marking(): NonNullable<GpuChangeMeter['before']> {
    if (!this.before) throw new Error('no rows were marked');
    return this.before;
  }

  /** Runs a program over the tier's rows as they are (staged updates first), compiled on first use; its arena. */
  private run(key: string, program: () => Program): Float32Array {
    const { programs } = this.marking();
    let compiled = programs.get(key);
    if (!compiled) programs.set(key, (compiled = this.gpu.compile(program())));
    this.steps.flush();
    compiled.run(0);
    return compiled.arena;
  }
}
