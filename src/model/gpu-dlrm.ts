/**
 * DLRM on the WebGPU device: the same network, parameters and initialisation as Dlrm, its dense work compiled into
 * two device programs (evaluation: forward; training: forward, loss, backward and the dense update) that run once per
 * step. The pooled buffer the tiers fill is the programs' shared arena, so the host tiers pool straight into what is
 * uploaded, and the pooled vectors' gradient comes back the same way. The parameters live on the device; the host
 * arrays of Dlrm are their mirror, brought up to date by syncToHost (a checkpoint) and sent by syncFromHost.
 */
import type { Batch } from '../data/batch.ts';
import type { GpuTensor, WebGpuDevice, GpuProgram } from '../device/webgpu/webgpu-device.ts';
import { ArenaLayout, type KernelOp, type Program, type Transfer } from '../device/webgpu/program.ts';
import { type DlrmArch, interactionWidth } from './arch.ts';
import { Dlrm } from './dlrm.ts';
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

/** Everything on the device for batches of up to `capacity` inputs. */
interface Built {
  capacity: number;
  layers: { bottom: LayerTensors[]; top: LayerTensors[] };
  input: GpuTensor;
  features: GpuTensor;
  featureGrad: GpuTensor;
  interaction: GpuTensor | null;
  interactionGrad: GpuTensor | null;
  labels: GpuTensor;
  loss: GpuTensor;
  shared: SharedArrayBuffer;
  arena: Float32Array;
  slots: { dense: number; pooled: number; labels: number; logits: number; loss: number; featureGrad: number };
  /** The forward program's inputs (the dense features, the pooled vectors). */
  inputs: Transfer[];
  forward: GpuProgram;
  /** The training program and the rule it applies (a new rule, a new program). */
  train: { key: string; program: GpuProgram; states: Map<GpuTensor, Float32Array> } | null;
  tensors: GpuTensor[];
}

const allLayers = (b: Built): LayerTensors[] => [...b.layers.bottom, ...b.layers.top];

export class GpuDlrm extends Dlrm {
  private built: Built | null = null;
  private inputs = 0;

  constructor(private readonly gpu: WebGpuDevice, arch: DlrmArch, seed: number, tableNames?: readonly string[]) {
    super(gpu.kernels, arch, seed, tableNames);
  }

  override forwardDense(batch: Batch): Float32Array {
    const b = this.ensure(batch.size), width = this.arch.bottomMlp[0];
    this.inputs = batch.size;
    b.arena.set(batch.dense.subarray(0, batch.size * width), b.slots.dense);
    return this.pooledView(b);
  }

  override forwardOutput(pooled: Float32Array): Float32Array {
    const b = this.withPooled(pooled);
    b.forward.run(this.inputs);
    return b.arena.subarray(b.slots.logits, b.slots.logits + this.inputs);
  }

  override learn(pooled: Float32Array, labels: Float32Array, rule: DenseRule): number {
    const b = this.withPooled(pooled), n = this.inputs;
    b.arena.set(labels.subarray(0, n), b.slots.labels);
    this.trainProgram(b, rule).run(n);
    return b.arena[b.slots.loss];
  }

  override embeddingGrad(): Float32Array {
    const b = this.built!, floats = this.pooledFloats(this.inputs);
    return b.arena.subarray(b.slots.featureGrad, b.slots.featureGrad + floats);
  }

  override syncToHost(_rule: DenseRule): void {
    if (this.built) this.syncParamsToHost(this.built);
  }

  override syncFromHost(): void {
    const b = this.built;
    if (!b) return;
    this.uploadParams(b);
    // The optimizer's states may be new arrays (a restore): the next step builds its program from them.
    if (b.train) for (const t of b.train.states.keys()) this.free(b, t);
    b.train = null;
  }

  override backward(): void {
    throw new Error('on webgpu the backward pass runs inside learn()');
  }

  /** The device tensors for batches of n inputs, rebuilt (parameters carried over) when n outgrows them. */
  private ensure(n: number): Built {
    if (this.built && n <= this.built.capacity) return this.built;
    const old = this.built, capacity = Math.max(n, 2 * (old?.capacity ?? 0));
    if (old) {
      this.syncParamsToHost(old);
      for (const t of old.tensors) this.gpu.free(t);
    }
    this.built = this.build(capacity);
    return this.built;
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
    if (!b.train || b.train.states.size === 0) return;
    // Adagrad's program leaves the gradients of its last step on the device too.
    for (const [tensor, state] of b.train.states) this.gpu.downloadNow(tensor, state);
    for (const t of allLayers(b)) {
      this.gpu.downloadNow(t.weightGrad, t.layer.weightGrad);
      this.gpu.downloadNow(t.biasGrad, t.layer.biasGrad);
    }
  }

  private free(b: Built, t: GpuTensor): void {
    this.gpu.free(t);
    b.tensors.splice(b.tensors.indexOf(t), 1);
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

  private build(capacity: number): Built {
    const { arch } = this, gpu = this.gpu, tensors: GpuTensor[] = [];
    const alloc = (floats: number) => {
      const t = gpu.alloc('f32', [floats]);
      tensors.push(t);
      return t;
    };
    const layerTensors = (mlp: Mlp) => mlp.layers.map((layer): LayerTensors => {
      const t = {
        layer, weight: alloc(layer.weight.length), bias: alloc(layer.bias.length), weightGrad: alloc(layer.weight.length),
        biasGrad: alloc(layer.bias.length), out: alloc(capacity * layer.outputs), outGrad: alloc(capacity * layer.outputs),
      };
      return t;
    });
    const featureFloats = this.pooledFloats(capacity), dot = arch.interaction === 'dot', width = interactionWidth(arch);
    const layers = { bottom: layerTensors(this.bottom), top: layerTensors(this.top) };
    const input = alloc(capacity * arch.bottomMlp[0]), features = alloc(featureFloats), featureGrad = alloc(featureFloats);
    const interaction = dot ? alloc(capacity * width) : null, interactionGrad = dot ? alloc(capacity * width) : null;
    const labels = alloc(capacity), loss = alloc(4);
    const arena = new ArenaLayout();
    const slots = {
      dense: arena.take(capacity * arch.bottomMlp[0]), pooled: arena.take(featureFloats), labels: arena.take(capacity),
      logits: arena.take(capacity), loss: arena.take(4), featureGrad: arena.take(featureFloats),
    };
    const shared = new SharedArrayBuffer(arena.floats * 4);
    // Both programs take the dense features and the pooled vectors; training takes the labels too.
    const inputs: Transfer[] = [
      { slot: slots.dense, tensor: input.id, floats: perInput(arch.bottomMlp[0]) },
      { slot: slots.pooled, tensor: features.id, floats: perInput(this.features * arch.embeddingDim) },
    ];
    const built: Built = {
      capacity, layers, input, features, featureGrad, interaction, interactionGrad, labels, loss, shared, arena: new Float32Array(shared), slots,
      inputs, forward: null!, train: null, tensors,
    };
    this.uploadParams(built);
    const logits = layers.top.at(-1)!.out;
    built.forward = gpu.compile({
      maxInputs: capacity, arenaFloats: arena.floats, inputs, kernels: this.forwardKernels(built),
      outputs: [{ slot: slots.logits, tensor: logits.id, floats: perInput(1) }],
    }, shared);
    return built;
  }

  private trainProgram(b: Built, rule: DenseRule): GpuProgram {
    const key = rule.name === 'sgd' ? `sgd ${rule.lr}` : `adagrad ${rule.lr} ${rule.eps}`;
    if (b.train?.key === key) return b.train.program;
    if (b.train) for (const t of b.train.states.keys()) this.free(b, t);
    const states = new Map<GpuTensor, Float32Array>(), { arch } = this, { slots } = b, stride = this.features * arch.embeddingDim;
    const stateOf = (param: DenseParam, state: (p: DenseParam) => Float32Array) => {
      const host = state(param), t = this.gpu.alloc('f32', [host.length]);
      this.gpu.upload(host, t);
      b.tensors.push(t);
      states.set(t, host);
      return t;
    };
    const params = this.denseParams();
    const byArray = new Map(params.map((p) => [p.value, p]));
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
            const state = stateOf(byArray.get(host)!, rule.state);
            updates.push({ kernel: 'adagrad', w: param.id, state: state.id, g: grad.id, lr: rule.lr, eps: rule.eps, length: host.length });
          }
        }
      }
      return ops;
    };
    const top = b.layers.top, bottom = b.layers.bottom, rows = perInput(1), dim = arch.embeddingDim;
    const kernels: KernelOp[] = [
      ...this.forwardKernels(b),
      { kernel: 'bceWithLogits', logits: top.at(-1)!.out.id, labels: b.labels.id, rows, dLogits: top.at(-1)!.outGrad.id, loss: b.loss.id },
      ...backward(top, b.interaction ?? b.features, b.interactionGrad ?? b.featureGrad),
      ...(b.interaction
        ? [{ kernel: 'interactionBackward', t: b.features.id, dOut: b.interactionGrad!.id, rows, features: this.features, dim, outStride: interactionWidth(arch), dT: b.featureGrad.id } as const]
        : []),
      { kernel: 'copy2d', src: b.featureGrad.id, srcStride: stride, srcOffset: 0, dst: bottom.at(-1)!.outGrad.id, dstStride: dim, dstOffset: 0, rows, cols: dim },
      ...backward(bottom, b.input, null),
    ];
    const program: Program = {
      maxInputs: b.capacity, arenaFloats: b.arena.length,
      inputs: [...b.inputs, { slot: slots.labels, tensor: b.labels.id, floats: perInput(1) }],
      kernels: [...kernels, ...updates],
      outputs: [
        { slot: slots.loss, tensor: b.loss.id, floats: 1 },
        { slot: slots.featureGrad, tensor: b.featureGrad.id, floats: perInput(stride) },
      ],
    };
    b.train = { key, program: this.gpu.compile(program, b.shared), states };
    return b.train.program;
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
