/**
 * DLRM on the WebGPU device: the same network, parameters and initialisation as Dlrm, its dense work compiled into
 * device programs (evaluation: forward; training: forward, loss, backward and the dense update) that run once per
 * step. The pooled buffer the tiers fill is the programs' shared arena, so the host tiers pool straight into what is
 * uploaded, and the pooled vectors' gradient comes back the same way. The parameters live on the device; the host
 * arrays of Dlrm are their mirror, brought up to date by syncToHost (a checkpoint) and sent by syncFromHost.
 *
 * A device tier (GpuTier) stages its work here: its pool joins the step's program (the lookups travel as the run's
 * inputs, their counts as its parameters), and its update joins the next program (before that step's pools), so a
 * step stays one request. A program is compiled per combination of the work it runs, once. When every lookup of a
 * step is pooled on the device (an FAE hot mini-batch, GPU-only), neither the pooled vectors nor their gradient
 * cross to the host.
 */
import type { Batch } from '../data/batch.ts';
import type { GpuTensor, WebGpuDevice, GpuProgram } from '../device/webgpu/webgpu-device.ts';
import { ArenaLayout, type KernelOp, type Transfer } from '../device/webgpu/program.ts';
import type { SparseRule } from '../embedding/tier.ts';
import type { SlotLayout } from '../kernels/kernels.ts';
import type { Jagged } from '../tensor/jagged.ts';
import { type DlrmArch, type DlrmOutput, interactionWidth } from './arch.ts';
import { Dlrm } from './dlrm.ts';
import { type DeviceSteps, GpuTier } from './gpu-tier.ts';
import type { DenseParam, Linear, Mlp } from './mlp.ts';
import type { DenseRule } from './model.ts';


const perInput = (k: number) => ({ perInput: k });

interface LayerTensors {
  layer: Linear;
  weight: GpuTensor;
  bias: GpuTensor;
  weightGrad: GpuTensor;
  biasGrad: GpuTensor;
  out: GpuTensor;
  outGrad: GpuTensor;
}

/** The run parameters of a step program: the staged pool's lookups and offsets, the staged update's distinct rows,
 *  lookups and bags. */
const enum Param { PoolIds, PoolOffsets, Segments, UpdateLookups, UpdateBags }

/** A device tier's pool and update, staged for the next program run. */
interface Staged {
  pool: { tier: GpuTier; accumulate: boolean; lookups: number; offsets: number } | null;
  update: { tier: GpuTier; rule: SparseRule; segments: number; lookups: number; bags: number } | null;
}

/** Everything on the device for batches of up to `capacity` inputs and `lookupCapacity` lookups. */
interface Built {
  capacity: number;
  lookupCapacity: number;
  layers: { bottom: LayerTensors[]; top: LayerTensors[] };
  input: GpuTensor;
  features: GpuTensor;
  featureGrad: GpuTensor;
  interaction: GpuTensor | null;
  interactionGrad: GpuTensor | null;
  labels: GpuTensor;
  loss: GpuTensor;
  /** A device tier's lookups: the staged pool's ids and offsets, the staged update's row segments. */
  lookups: { ids: GpuTensor; offsets: GpuTensor; rows: GpuTensor; starts: GpuTensor; bags: GpuTensor };
  /** Bound where a kernel's optional tensor is absent (an SGD tier's state). */
  none: GpuTensor;
  shared: SharedArrayBuffer;
  arena: Float32Array;
  ints: Int32Array;
  slots: {
    dense: number; pooled: number; labels: number; outputs: number; outputGrad: number; loss: number; featureGrad: number;
    ids: number; offsets: number; rows: number; starts: number; bags: number;
  };
  /** The programs compiled so far, by the work they run, with the device tiers they name. */
  programs: Map<string, { program: GpuProgram; tiers: GpuTier[] }>;
  /** The dense rule the training programs apply, with Adagrad's state of each parameter (by its host array) on the
   *  device beside the optimizer's host copy (a new rule, new programs). */
  dense: { key: string; states: Map<Float32Array, { tensor: GpuTensor; host: Float32Array }> } | null;
  tensors: GpuTensor[];
}

const allLayers = (b: Built): LayerTensors[] => [...b.layers.bottom, ...b.layers.top];
/** A step program's work: the forward pass; training from the labels (loss included) or from the output's gradient
 *  (TBSM's tower); or a staged update alone. */
type ProgramKind = 'forward' | 'train' | 'backprop' | 'flush';
const denseKey = (rule: DenseRule) => (rule.name === 'sgd' ? `sgd ${rule.lr}` : `adagrad ${rule.lr} ${rule.eps}`);
const lookupsOf = (j: Jagged) => j.offsets[j.tables * j.bags] - j.offsets[0];

export class GpuDlrm extends Dlrm implements DeviceSteps {
  private built: Built | null = null;
  private inputs = 0;
  private staged: Staged = { pool: null, update: null };
  /** Whether the last training run brought the pooled vectors' gradient to the host. */
  private gradOnHost = false;
  private readonly tierIds = new WeakMap<GpuTier, number>();
  private nextTier = 1;

  constructor(private readonly gpu: WebGpuDevice, arch: DlrmArch, seed: number, tableNames?: readonly string[], output: DlrmOutput = 'logit') {
    super(gpu.kernels, arch, seed, tableNames, output);
  }

  /** A placed tier of `rows` rows in GPU memory whose work runs inside this model's step programs (its row copies in
   *  chunks of chunkRows rows). */
  override deviceTier(rows: number, state: { initial: number } | null, chunkRows?: number): GpuTier {
    const tier = GpuTier.create(this.gpu, this, rows, this.arch.embeddingDim, state, chunkRows);
    this.tierIds.set(tier, this.nextTier++);
    return tier;
  }

  override forwardDense(batch: Batch): Float32Array {
    const b = this.ensure(batch.size, lookupsOf(batch.sparse)), width = this.arch.bottomMlp[0];
    this.inputs = batch.size;
    b.arena.set(batch.dense.subarray(0, batch.size * width), b.slots.dense);
    return this.pooledView(b);
  }

  override forwardOutput(pooled: Float32Array): Float32Array {
    const b = this.withPooled(pooled);
    this.run(b, 'forward', null);
    return b.arena.subarray(b.slots.outputs, b.slots.outputs + this.inputs * this.outputs);
  }

  override learn(pooled: Float32Array, labels: Float32Array, rule: DenseRule): number {
    const b = this.withPooled(pooled), n = this.inputs;
    b.arena.set(labels.subarray(0, n), b.slots.labels);
    this.gradOnHost = this.run(b, 'train', rule);
    return b.arena[b.slots.loss];
  }

  /** After forwardOutput: the training program from the output's gradient instead of the loss, on the forward run's
   *  activations (still on the device). */
  override learnFrom(dOut: Float32Array, rule: DenseRule): void {
    const b = this.built!;
    b.arena.set(dOut.subarray(0, this.inputs * this.outputs), b.slots.outputGrad);
    this.gradOnHost = this.run(b, 'backprop', rule);
  }

  /** The pooled vectors' gradient; brought from the device on demand after a step that pooled only there. */
  override embeddingGrad(): Float32Array {
    const b = this.built!, floats = this.pooledFloats(this.inputs);
    const view = b.arena.subarray(b.slots.featureGrad, b.slots.featureGrad + floats);
    if (!this.gradOnHost) {
      this.gpu.downloadNow(b.featureGrad, view);
      this.gradOnHost = true;
    }
    return view;
  }

  override syncToHost(_rule: DenseRule): void {
    if (this.built) this.syncParamsToHost(this.built);
  }

  override syncFromHost(): void {
    const b = this.built;
    if (!b) return;
    this.flush();
    this.uploadParams(b);
    // The optimizer's states may be new arrays (a restore): the next step builds its programs from them.
    this.dropDense(b);
  }

  override backward(): void {
    throw new Error('on webgpu the backward pass runs inside learn()');
  }

  stagePool(tier: GpuTier, ids: Jagged, out: Float32Array, accumulate: boolean): void {
    const b = this.built;
    if (!b || out.buffer !== b.shared || out.byteOffset !== b.slots.pooled * 4) throw new Error('a device tier pools into the model\'s own pooled buffer');
    if (this.staged.pool) throw new Error('one device tier pools per step');
    if (ids.bags !== this.inputs || ids.tables !== this.tables.length) throw new Error(`a device pool of ${ids.tables} x ${ids.bags} bags for a step of ${this.tables.length} x ${this.inputs}`);
    const lookups = lookupsOf(ids), bags = ids.tables * ids.bags, base = ids.offsets[0];
    b.ints.set(ids.ids.subarray(base, base + lookups), b.slots.ids);
    for (let i = 0; i <= bags; i++) b.ints[b.slots.offsets + i] = ids.offsets[i] - base;
    this.staged.pool = { tier, accumulate, lookups, offsets: bags + 1 };
  }

  stageUpdate(tier: GpuTier, ids: Jagged, layout: SlotLayout, rule: SparseRule): void {
    if (this.staged.update) this.flush();
    const b = this.built!, seg = this.gpu.kernels.rowSegments(ids);
    if (layout.stride !== this.features * this.arch.embeddingDim || layout.slot0 !== this.arch.embeddingDim) throw new Error('a device tier updates from the model\'s own gradient');
    b.ints.set(seg.rows, b.slots.rows);
    b.ints.set(seg.starts, b.slots.starts);
    b.ints.set(seg.lookups, b.slots.bags);
    this.staged.update = { tier, rule, segments: seg.rows.length, lookups: seg.lookups.length, bags: ids.bags };
  }

  flush(): void {
    if (this.built && this.staged.update) this.run(this.built, 'flush', null);
  }

  forget(tier: GpuTier): void {
    if (this.staged.update?.tier === tier) this.flush();
    if (this.staged.pool?.tier === tier) throw new Error('a device tier was released with its pool staged');
    const b = this.built;
    if (b) for (const [key, { tiers }] of b.programs) if (tiers.includes(tier)) this.release(b, key);
  }

  /** Runs the program for `kind` with the staged work (a flush runs the update only, and keeps a staged pool for its
   *  step); returns whether the gradient came back to the host. */
  private run(b: Built, kind: ProgramKind, rule: DenseRule | null): boolean {
    const { update } = this.staged, pool = kind === 'flush' ? null : this.staged.pool, hostGrad = !(pool && !pool.accumulate);
    const key = [
      kind, rule ? denseKey(rule) : '', pool ? `${this.tierIds.get(pool.tier)} ${pool.accumulate ? '+' : '='}` : '',
      update ? `${this.tierIds.get(update.tier)} ${update.rule.optimizer} ${update.rule.lr} ${update.rule.eps}` : '', hostGrad,
    ].join('|');
    let compiled = b.programs.get(key);
    if (!compiled) {
      compiled = { program: this.compile(b, kind, rule, hostGrad), tiers: [pool?.tier, update?.tier].filter((t) => t !== undefined) };
      b.programs.set(key, compiled);
    }
    const params: number[] = [];
    params[Param.PoolIds] = pool?.lookups ?? 0;
    params[Param.PoolOffsets] = pool?.offsets ?? 0;
    params[Param.Segments] = update?.segments ?? 0;
    params[Param.UpdateLookups] = update?.lookups ?? 0;
    params[Param.UpdateBags] = update?.bags ?? 0;
    this.staged = { pool: kind === 'flush' ? this.staged.pool : null, update: null };
    compiled.program.run(kind === 'flush' ? 0 : this.inputs, params);
    return (kind === 'train' || kind === 'backprop') && hostGrad;
  }

  /** The device tensors for batches of n inputs and `lookups` lookups, rebuilt (parameters carried over) when the batch
   *  outgrows them. */
  private ensure(n: number, lookups: number): Built {
    const old = this.built;
    if (old && n <= old.capacity && lookups <= old.lookupCapacity) return old;
    if (old) {
      this.flush();
      this.syncParamsToHost(old);
      for (const key of old.programs.keys()) this.release(old, key);
      for (const t of old.tensors) this.gpu.free(t);
    }
    const grown = (need: number, had = 0) => (need > had ? Math.max(need, 2 * had) : had);
    this.built = this.build(grown(n, old?.capacity), grown(lookups, old?.lookupCapacity));
    return this.built;
  }

  private release(b: Built, key: string): void {
    b.programs.get(key)?.program.release();
    b.programs.delete(key);
  }

  private uploadParams(b: Built): void {
    for (const t of allLayers(b)) {
      this.gpu.upload(t.layer.weight, t.weight);
      this.gpu.upload(t.layer.bias, t.bias);
    }
  }

  /** The parameters, and under Adagrad its states and the last step's gradients, into the host arrays. */
  private syncParamsToHost(b: Built): void {
    for (const t of allLayers(b)) {
      this.gpu.downloadNow(t.weight, t.layer.weight);
      this.gpu.downloadNow(t.bias, t.layer.bias);
    }
    if (!b.dense || b.dense.states.size === 0) return;
    // Adagrad's programs leave the gradients of their last step on the device too.
    for (const { tensor, host } of b.dense.states.values()) this.gpu.downloadNow(tensor, host);
    for (const t of allLayers(b)) {
      this.gpu.downloadNow(t.weightGrad, t.layer.weightGrad);
      this.gpu.downloadNow(t.biasGrad, t.layer.biasGrad);
    }
  }

  /** Forgets the dense rule's device states and the training programs that apply them. */
  private dropDense(b: Built): void {
    if (!b.dense) return;
    for (const { tensor } of b.dense.states.values()) {
      this.gpu.free(tensor);
      b.tensors.splice(b.tensors.indexOf(tensor), 1);
    }
    for (const key of b.programs.keys()) if (key.startsWith('train|') || key.startsWith('backprop|')) this.release(b, key);
    b.dense = null;
  }

  private pooledView(b: Built): Float32Array {
    return b.arena.subarray(b.slots.pooled, b.slots.pooled + this.pooledFloats(this.inputs));
  }

  /** The built state, with the pooled vectors in the arena (copied there when the caller pooled elsewhere). */
  private withPooled(pooled: Float32Array): Built {
    const b = this.built;
    if (!b) throw new Error('forwardDense comes first');
    if (pooled.buffer !== b.shared || pooled.byteOffset !== b.slots.pooled * 4) b.arena.set(pooled.subarray(0, this.pooledFloats(this.inputs)), b.slots.pooled);
    return b;
  }

  private build(capacity: number, lookupCapacity: number): Built {
    const { arch } = this, gpu = this.gpu, tensors: GpuTensor[] = [];
    const alloc = (floats: number) => {
      const t = gpu.alloc('f32', [floats]);
      tensors.push(t);
      return t;
    };
    const layerTensors = (mlp: Mlp) => mlp.layers.map((layer): LayerTensors => ({
      layer, weight: alloc(layer.weight.length), bias: alloc(layer.bias.length), weightGrad: alloc(layer.weight.length),
      biasGrad: alloc(layer.bias.length), out: alloc(capacity * layer.outputs), outGrad: alloc(capacity * layer.outputs),
    }));
    const featureFloats = this.pooledFloats(capacity), dot = arch.interaction === 'dot', width = interactionWidth(arch);
    const offsets = this.tables.length * capacity + 1;
    const arena = new ArenaLayout();
    const slots = {
      dense: arena.take(capacity * arch.bottomMlp[0]), pooled: arena.take(featureFloats), labels: arena.take(capacity),
      outputs: arena.take(capacity * this.outputs), outputGrad: arena.take(capacity * this.outputs), loss: arena.take(4), featureGrad: arena.take(featureFloats),
      ids: arena.take(lookupCapacity), offsets: arena.take(offsets), rows: arena.take(lookupCapacity), starts: arena.take(lookupCapacity + 1),
      bags: arena.take(lookupCapacity),
    };
    const shared = new SharedArrayBuffer(arena.floats * 4);
    const built: Built = {
      capacity, lookupCapacity, layers: { bottom: layerTensors(this.bottom), top: layerTensors(this.top) },
      input: alloc(capacity * arch.bottomMlp[0]), features: alloc(featureFloats), featureGrad: alloc(featureFloats),
      interaction: dot ? alloc(capacity * width) : null, interactionGrad: dot ? alloc(capacity * width) : null,
      labels: alloc(capacity), loss: alloc(4),
      lookups: { ids: alloc(lookupCapacity), offsets: alloc(offsets), rows: alloc(lookupCapacity), starts: alloc(lookupCapacity + 1), bags: alloc(lookupCapacity) },
      none: alloc(4),
      shared, arena: new Float32Array(shared), ints: new Int32Array(shared), slots, programs: new Map(), dense: null, tensors,
    };
    this.uploadParams(built);
    return built;
  }

  /** The program of one kind of run with the staged work: the staged update first, then the pool, then the model's. */
  private compile(b: Built, kind: ProgramKind, rule: DenseRule | null, hostGrad: boolean): GpuProgram {
    const { update } = this.staged, pool = kind === 'flush' ? null : this.staged.pool, { slots, lookups } = b, dim = this.arch.embeddingDim, stride = this.features * dim;
    const inputs: Transfer[] = [], kernels: KernelOp[] = [], outputs: Transfer[] = [];
    if (update) {
      const segments = { param: Param.Segments }, { tier, rule: r } = update;
      inputs.push(
        { slot: slots.rows, tensor: lookups.rows.id, floats: segments },
        { slot: slots.starts, tensor: lookups.starts.id, floats: { param: Param.Segments, plus: 1 } },
        { slot: slots.bags, tensor: lookups.bags.id, floats: { param: Param.UpdateLookups } },
      );
      kernels.push({
        kernel: 'rowUpdate', weights: tier.weights.id, state: (tier.state ?? b.none).id, grad: b.featureGrad.id, rows: lookups.rows.id,
        starts: lookups.starts.id, lookups: lookups.bags.id, segments, dim, stride, slot0: dim, bags: { param: Param.UpdateBags },
        adagrad: r.optimizer === 'rowwise-adagrad', lr: r.lr, eps: r.eps,
      });
    }
    // A backprop run follows its step's forward run: the features (with a device tier's pool) and every activation are
    // still on the device.
    if (kind === 'forward' || kind === 'train') {
      inputs.push({ slot: slots.dense, tensor: b.input.id, floats: perInput(this.arch.bottomMlp[0]) });
      // A pool that overwrites every slot leaves nothing of the host's to send.
      if (!pool || pool.accumulate) inputs.push({ slot: slots.pooled, tensor: b.features.id, floats: perInput(stride) });
      if (pool) {
        inputs.push(
          { slot: slots.ids, tensor: lookups.ids.id, floats: { param: Param.PoolIds } },
          { slot: slots.offsets, tensor: lookups.offsets.id, floats: { param: Param.PoolOffsets } },
        );
        kernels.push({
          kernel: 'embeddingPool', weights: pool.tier.weights.id, ids: lookups.ids.id, offsets: lookups.offsets.id, out: b.features.id,
          tables: this.tables.length, bags: perInput(1), dim, stride, slot0: dim, accumulate: pool.accumulate,
        });
      }
      kernels.push(...this.forwardKernels(b));
    }
    const top = b.layers.top.at(-1)!;
    if (kind === 'forward') outputs.push({ slot: slots.outputs, tensor: top.out.id, floats: perInput(this.outputs) });
    if (kind === 'train') {
      inputs.push({ slot: slots.labels, tensor: b.labels.id, floats: perInput(1) });
      kernels.push(
        { kernel: 'bceWithLogits', logits: top.out.id, labels: b.labels.id, rows: perInput(1), dLogits: top.outGrad.id, loss: b.loss.id },
        ...this.trainKernels(b, rule!),
      );
      outputs.push({ slot: slots.loss, tensor: b.loss.id, floats: 1 });
    }
    if (kind === 'backprop') {
      inputs.push({ slot: slots.outputGrad, tensor: top.outGrad.id, floats: perInput(this.outputs) });
      kernels.push(...this.trainKernels(b, rule!));
    }
    if ((kind === 'train' || kind === 'backprop') && hostGrad) outputs.push({ slot: slots.featureGrad, tensor: b.featureGrad.id, floats: perInput(stride) });
    return this.gpu.compile({ arenaFloats: b.arena.length, inputs, kernels, outputs }, b.shared);
  }

  /** The dense rule's device states (Adagrad's), created from the optimizer's on first use. */
  private denseStates(b: Built, rule: DenseRule): NonNullable<Built['dense']>['states'] {
    const key = denseKey(rule);
    if (b.dense?.key === key) return b.dense.states;
    this.dropDense(b);
    b.dense = { key, states: new Map() };
    return b.dense.states;
  }

  /** After the forward kernels and the output's gradient: the backward pass and the dense update. */
  private trainKernels(b: Built, rule: DenseRule): KernelOp[] {
    const states = this.denseStates(b, rule), { arch } = this, stride = this.features * arch.embeddingDim;
    const byArray = new Map(this.denseParams().map((p) => [p.value, p]));
    const stateOf = (param: Float32Array, state: (p: DenseParam) => Float32Array): GpuTensor => {
      const known = states.get(param);
      if (known) return known.tensor;
      const host = state(byArray.get(param)!), tensor = this.gpu.alloc('f32', [host.length]);
      this.gpu.upload(host, tensor);
      b.tensors.push(tensor);
      states.set(param, { tensor, host });
      return tensor;
    };
    // Adagrad steps every parameter once the whole backward pass is done, as on the CPU.
    const updates: KernelOp[] = [];
    const backward = (mlp: LayerTensors[], input: GpuTensor, inputGrad: GpuTensor | null): KernelOp[] => {
      const ops: KernelOp[] = [];
      for (let l = mlp.length - 1; l >= 0; l--) {
        const t = mlp[l], { layer } = t, x = l === 0 ? input : mlp[l - 1].out, rows = perInput(1);
        ops.push({ kernel: 'activationBackward', dy: t.outGrad.id, y: t.out.id, rows, cols: layer.outputs, relu: layer.relu, dBias: t.biasGrad.id });
        const dx = l === 0 ? inputGrad : mlp[l - 1].outGrad;
        if (dx) {
          ops.push({
            kernel: 'gemm', transA: false, transB: false, M: rows, N: layer.inputs, K: layer.outputs, alpha: 1, beta: 0,
            a: t.outGrad.id, lda: layer.outputs, b: t.weight.id, ldb: layer.inputs, c: dx.id, ldc: layer.inputs,
          });
        }
        const gradOf = (target: GpuTensor, alpha: number, beta: number): KernelOp => ({
          kernel: 'gemm', transA: true, transB: false, M: layer.outputs, N: layer.inputs, K: rows, alpha, beta,
          a: t.outGrad.id, lda: layer.outputs, b: x.id, ldb: layer.inputs, c: target.id, ldc: layer.inputs,
        });
        if (rule.name === 'sgd') {
          ops.push(gradOf(t.weight, -rule.lr, 1), { kernel: 'sgd', w: t.bias.id, g: t.biasGrad.id, lr: rule.lr, length: layer.outputs });
        } else {
          ops.push(gradOf(t.weightGrad, 1, 0));
          for (const [param, grad, host] of [[t.weight, t.weightGrad, layer.weight], [t.bias, t.biasGrad, layer.bias]] as const) {
            updates.push({ kernel: 'adagrad', w: param.id, state: stateOf(host, rule.state).id, g: grad.id, lr: rule.lr, eps: rule.eps, length: host.length });
          }
        }
      }
      return ops;
    };
    const top = b.layers.top, bottom = b.layers.bottom, rows = perInput(1), dim = arch.embeddingDim;
    return [
      ...backward(top, b.interaction ?? b.features, b.interactionGrad ?? b.featureGrad),
      ...(b.interaction
        ? [{ kernel: 'interactionBackward', t: b.features.id, dOut: b.interactionGrad!.id, rows, features: this.features, dim, outStride: interactionWidth(arch), dT: b.featureGrad.id } as const]
        : []),
      { kernel: 'copy2d', src: b.featureGrad.id, srcStride: stride, srcOffset: 0, dst: bottom.at(-1)!.outGrad.id, dstStride: dim, dstOffset: 0, rows, cols: dim },
      ...backward(bottom, b.input, null),
      ...updates,
    ];
  }

  /** Bottom MLP, its output into the features' slot 0, the interaction, the top MLP. */
  private forwardKernels(b: Built): KernelOp[] {
    const { arch } = this, rows = perInput(1), dim = arch.embeddingDim, stride = this.features * dim;
    const mlp = (layers: LayerTensors[], input: GpuTensor): KernelOp[] => layers.flatMap((t, l): KernelOp[] => {
      const x = l === 0 ? input : layers[l - 1].out, { layer } = t;
      return [
        {
          kernel: 'gemm', transA: false, transB: true, M: rows, N: layer.outputs, K: layer.inputs, alpha: 1, beta: 0,
          a: x.id, lda: layer.inputs, b: t.weight.id, ldb: layer.inputs, c: t.out.id, ldc: layer.outputs,
        },
        { kernel: 'biasActivation', y: t.out.id, rows, cols: layer.outputs, bias: t.bias.id, relu: layer.relu },
      ];
    });
    return [
      ...mlp(b.layers.bottom, b.input),
      { kernel: 'copy2d', src: b.layers.bottom.at(-1)!.out.id, srcStride: dim, srcOffset: 0, dst: b.features.id, dstStride: stride, dstOffset: 0, rows, cols: dim },
      ...(b.interaction
        ? [{ kernel: 'interactionForward', t: b.features.id, rows, features: this.features, dim, out: b.interaction.id, outStride: interactionWidth(arch) } as const]
        : []),
      ...mlp(b.layers.top, b.interaction ?? b.features),
    ];
  }
}
