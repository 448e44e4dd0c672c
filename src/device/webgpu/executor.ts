/**
 * Runs in the GPU worker: owns the GPUDevice, its buffers (one per tensor) and the compiled programs. A program
 * run writes its inputs from the arena, encodes every kernel into one command buffer, and reads its outputs back
 * into the arena. Dawn crashes on writeBuffer from a SharedArrayBuffer view, so inputs pass through a private copy.
 */
import { type Dim, type KernelOp, type Program, resolveDim, type RunSize, type Transfer } from './program.ts';
import { gemmTile, type KernelName, packParams, shaders, type ShaderSpec, wgslOf, workgroupSize } from './shaders.ts';

const maxGroupsPerDimension = 65535;
const noSize: RunSize = { n: 0, params: [] };

interface Dispatch {
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  uniform: GPUBuffer;
  spec: ShaderSpec;
  params(size: RunSize): Record<string, number>;
  groups(size: RunSize): [number, number];
}

/** A grid of `groups` workgroups (at least one), folded into 2-D when they exceed one dimension. */
function grid(groups: number): [number, number] {
  groups = Math.max(1, groups);
  if (groups <= maxGroupsPerDimension) return [groups, 1];
  return [maxGroupsPerDimension, Math.ceil(groups / maxGroupsPerDimension)];
}

/** Workgroups for `count` elementwise invocations. */
const elementwise = (count: number): [number, number] => grid(Math.ceil(count / workgroupSize));

/** A kernel's shader, its tensors in binding order, its parameters and grid for a run's size. */
function plan(op: KernelOp): { kernel: KernelName; tensors: number[]; params(n: RunSize): Record<string, number>; groups(n: RunSize): [number, number] } {
  const d = (x: Dim, n: RunSize) => resolveDim(x, n), flag = (b: boolean) => (b ? 1 : 0);
  switch (op.kernel) {
    case 'gemm':
      return {
        kernel: 'gemm', tensors: [op.a, op.b, op.c],
        params: (n) => ({
          M: d(op.M, n), N: d(op.N, n), K: d(op.K, n), lda: op.lda, ldb: op.ldb, ldc: op.ldc, transA: flag(op.transA), transB: flag(op.transB),
          aOffset: op.aOffset ?? 0, bOffset: op.bOffset ?? 0, cOffset: op.cOffset ?? 0, alpha: op.alpha, beta: op.beta,
        }),
        groups: (n) => [Math.ceil(d(op.N, n) / gemmTile), Math.ceil(d(op.M, n) / gemmTile)],
      };
    case 'biasActivation':
      return {
        kernel: 'biasActivation', tensors: [op.y, op.bias],
        params: (n) => ({ count: d(op.rows, n) * op.cols, cols: op.cols, relu: flag(op.relu) }),
        groups: (n) => elementwise(d(op.rows, n) * op.cols),
      };
    case 'activationBackward':
      return {
        kernel: 'activationBackward', tensors: [op.dy, op.y, op.dBias],
        params: (n) => ({ rows: d(op.rows, n), cols: op.cols, relu: flag(op.relu) }),
        groups: () => [op.cols, 1],
      };
    case 'copy2d':
      return {
        kernel: 'copy2d', tensors: [op.src, op.dst],
        params: (n) => ({ rows: d(op.rows, n), cols: op.cols, srcStride: op.srcStride, srcOffset: op.srcOffset, dstStride: op.dstStride, dstOffset: op.dstOffset }),
        groups: (n) => elementwise(d(op.rows, n) * op.cols),
      };
    case 'interactionForward':
      return {
        kernel: 'interactionForward', tensors: [op.t, op.out],
        params: (n) => ({ rows: d(op.rows, n), features: op.features, dim: op.dim, outStride: op.outStride }),
        groups: (n) => elementwise(d(op.rows, n) * (op.dim + (op.features * (op.features - 1)) / 2)),
      };
    case 'interactionBackward':
      return {
        kernel: 'interactionBackward', tensors: [op.t, op.dOut, op.dT],
        params: (n) => ({ rows: d(op.rows, n), features: op.features, dim: op.dim, outStride: op.outStride }),
        groups: (n) => elementwise(d(op.rows, n) * op.features * op.dim),
      };
    case 'bceWithLogits':
      return { kernel: 'bceWithLogits', tensors: [op.logits, op.labels, op.dLogits, op.loss], params: (n) => ({ rows: d(op.rows, n) }), groups: () => [1, 1] };
    case 'embeddingPool':
      return {
        kernel: 'embeddingPool', tensors: [op.weights, op.ids, op.offsets, op.out],
        params: (n) => ({ tables: op.tables, bags: d(op.bags, n), dim: op.dim, stride: op.stride, slot0: op.slot0, accumulate: flag(op.accumulate) }),
        groups: (n) => elementwise(op.tables * d(op.bags, n) * op.dim),
      };
    case 'rowUpdate':
      if (op.dim > workgroupSize) throw new Error(`the row update takes rows of at most ${workgroupSize} floats, not ${op.dim}`);
      return {
        kernel: 'rowUpdate', tensors: [op.weights, op.state, op.grad, op.rows, op.starts, op.lookups],
        params: (n) => ({
          segments: d(op.segments, n), dim: op.dim, stride: op.stride, slot0: op.slot0, bags: d(op.bags, n), adagrad: flag(op.adagrad), lr: op.lr, eps: op.eps,
        }),
        groups: (n) => grid(d(op.segments, n)),
      };
    case 'gatherRows':
    case 'scatterRows':
      return {
        kernel: op.kernel, tensors: [op.src, op.rows, op.dst],
        params: (n) => ({ count: d(op.count, n), dim: op.dim }),
        groups: (n) => elementwise(d(op.count, n) * op.dim),
      };
    case 'rowChange':
      return {
        kernel: 'rowChange', tensors: [op.before, op.after, op.change],
        params: (n) => ({ count: d(op.count, n), dim: op.dim, relative: flag(op.relative) }),
        groups: (n) => elementwise(d(op.count, n)),
      };
    case 'sgd':
      return { kernel: 'sgd', tensors: [op.w, op.g], params: () => ({ length: op.length, lr: op.lr }), groups: () => elementwise(op.length) };
    case 'adagrad':
      return {
        kernel: 'adagrad', tensors: [op.w, op.state, op.g], params: () => ({ length: op.length, lr: op.lr, eps: op.eps }), groups: () => elementwise(op.length),
      };
  }
}

export class CompiledProgram {
  /** The size the uniforms were last written for. */
  private lastSize = '';
  private readonly readback: GPUBuffer | null;

  constructor(
    private readonly executor: Executor, private readonly program: Program, private readonly arena: Float32Array,
    private readonly dispatches: Dispatch[],
  ) {
    const usage = GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST;
    this.readback = program.outputs.length > 0 ? executor.device.createBuffer({ size: Math.max(16, program.arenaFloats * 4), usage }) : null;
  }

  /** One step of the given size: inputs in, every kernel, outputs back to the arena. */
  async run(n: RunSize): Promise<void> {
    const { device } = this.executor, { inputs, outputs } = this.program, key = `${n.n} ${n.params.join(' ')}`;
    for (const t of inputs) this.executor.write(t, this.arena, n);
    if (key !== this.lastSize) {
      for (const dsp of this.dispatches) device.queue.writeBuffer(dsp.uniform, 0, packParams(dsp.spec, dsp.params(n)));
      this.lastSize = key;
    }
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    for (const dsp of this.dispatches) {
      const [x, y] = dsp.groups(n);
      if (x === 0 || y === 0) continue;
      pass.setPipeline(dsp.pipeline);
      pass.setBindGroup(0, dsp.bindGroup);
      pass.dispatchWorkgroups(x, y);
    }
    pass.end();
    for (const t of outputs) {
      const floats = resolveDim(t.floats, n);
      if (floats > 0) encoder.copyBufferToBuffer(this.executor.buffer(t.tensor), (t.offset ?? 0) * 4, this.readback!, t.slot * 4, floats * 4);
    }
    device.queue.submit([encoder.finish()]);
    if (!this.readback) return device.queue.onSubmittedWorkDone();
    await this.readback.mapAsync(GPUMapMode.READ);
    const mapped = new Float32Array(this.readback.getMappedRange());
    for (const t of outputs) this.arena.set(mapped.subarray(t.slot, t.slot + resolveDim(t.floats, n)), t.slot);
    this.readback.unmap();
  }

  /** Releases its buffers (the tensors it reads stay). */
  destroy(): void {
    for (const dsp of this.dispatches) dsp.uniform.destroy();
    this.readback?.destroy();
  }
}

export class Executor {
  private readonly buffers = new Map<number, GPUBuffer>();
  private readonly pipelines = new Map<KernelName, GPUComputePipeline>();
  private staging = new Float32Array(0);
  /** The first error Dawn reported outside a call (a validation or out-of-memory error in a submitted command). */
  failure: string | null = null;

  constructor(readonly device: GPUDevice) {
    device.addEventListener('uncapturederror', (event) => {
      this.failure ??= (event as GPUUncapturedErrorEvent).error.message;
    });
  }

  alloc(id: number, floats: number): void {
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    this.buffers.set(id, this.device.createBuffer({ size: Math.max(16, Math.ceil(floats / 4) * 16), usage }));
  }

  free(id: number): void {
    this.buffers.get(id)?.destroy();
    this.buffers.delete(id);
  }

  buffer(id: number): GPUBuffer {
    const b = this.buffers.get(id);
    if (!b) throw new Error(`device tensor ${id} does not exist`);
    return b;
  }

  /** Queues the copy of a transfer's floats from the arena into its tensor. */
  write(t: Transfer, arena: Float32Array, n: RunSize): void {
    const floats = resolveDim(t.floats, n);
    if (floats === 0) return;
    if (this.staging.length < floats) this.staging = new Float32Array(floats);
    this.staging.set(arena.subarray(t.slot, t.slot + floats));
    this.device.queue.writeBuffer(this.buffer(t.tensor), (t.offset ?? 0) * 4, this.staging, 0, floats);
  }

  async read(t: Transfer, arena: Float32Array): Promise<void> {
    const floats = resolveDim(t.floats, noSize), bytes = floats * 4;
    const readback = this.device.createBuffer({ size: Math.max(16, bytes), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const encoder = this.device.createCommandEncoder();
    encoder.copyBufferToBuffer(this.buffer(t.tensor), (t.offset ?? 0) * 4, readback, 0, bytes);
    this.device.queue.submit([encoder.finish()]);
    await readback.mapAsync(GPUMapMode.READ);
    arena.set(new Float32Array(readback.getMappedRange(), 0, floats), t.slot);
    readback.destroy();
  }

  compile(program: Program, arena: Float32Array): CompiledProgram {
    const dispatches = program.kernels.map((op): Dispatch => {
      const { kernel, tensors, params, groups } = plan(op), spec: ShaderSpec = shaders[kernel];
      const pipeline = this.pipeline(kernel);
      const uniform = this.device.createBuffer({ size: packParams(spec, params(noSize)).byteLength, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
      const bindGroup = this.device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [{ binding: 0, resource: { buffer: uniform } }, ...tensors.map((id, i) => ({ binding: i + 1, resource: { buffer: this.buffer(id) } }))],
      });
      return { pipeline, bindGroup, uniform, spec, params, groups };
    });
    return new CompiledProgram(this, program, arena, dispatches);
  }

  private pipeline(kernel: KernelName): GPUComputePipeline {
    let pipeline = this.pipelines.get(kernel);
    if (!pipeline) {
      const module = this.device.createShaderModule({ code: wgslOf(shaders[kernel]) });
      pipeline = this.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
      this.pipelines.set(kernel, pipeline);
    }
    return pipeline;
  }
}
