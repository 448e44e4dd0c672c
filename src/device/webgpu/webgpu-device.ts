/**
 * The WebGPU device: a GPU through Dawn (the `webgpu` package), owned by a worker thread. Its tensors live in GPU
 * memory; a model compiles its step into a program and runs it once per step, the inputs and outputs in a shared
 * arena. The host side of a step (the host tier's pooling and updates, the data, the lanes) runs on the CPU
 * kernels, beside it.
 */
import type { Lane, LaneOwner } from '../../io/lane.ts';
import type { Kernels } from '../../kernels/kernels.ts';
import { type Dtype, elements, type HostArray, type Tensor } from '../../tensor/tensor.ts';
import { tsWorker } from '../../util/ts-worker.ts';
import type { Device, DeviceMemory } from '../device.ts';
import { GpuChannel, GpuError } from './channel.ts';
import type { Program } from './program.ts';

export class GpuTensor implements Tensor {
  readonly device = 'webgpu';
  constructor(readonly id: number, readonly dtype: Dtype, readonly shape: readonly number[]) {}
}

export interface GpuAdapter {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** The largest tensor a kernel can bind (WebGPU tells no memory size). */
  maxTensorBytes: number;
}

/** A compiled program: fill its arena's input slots, run(n), read its output slots. */
export class GpuProgram {
  readonly arena: Float32Array;

  constructor(private readonly channel: GpuChannel, readonly id: number, shared: SharedArrayBuffer) {
    this.arena = new Float32Array(shared);
  }

  /** Runs the program on n inputs (and the run's parameters) and returns once its outputs are in the arena. */
  run(n: number, params: readonly number[] = []): void {
    this.channel.start(this.id, { n, params });
    this.channel.wait();
  }

  /** Drops the compiled program in the worker (its tensors stay). */
  release(): void {
    this.channel.setup({ type: 'release', id: this.id });
  }
}

export class WebGpuDevice implements Device {
  readonly name = 'webgpu';
  private nextId = 1;

  private constructor(
    readonly kernels: Kernels, readonly adapter: GpuAdapter, private readonly channel: GpuChannel,
    private readonly close: () => Promise<void>,
  ) {}

  /** Starts the GPU worker on the named adapter (by description or device name; null: the first Dawn offers). */
  static async open(kernels: Kernels, adapterName: string | null = null): Promise<WebGpuDevice> {
    const shared = GpuChannel.shared();
    const worker = tsWorker(new URL('./gpu-worker.ts', import.meta.url), { control: shared, adapter: adapterName });
    const first = await new Promise<{ ready?: GpuAdapter; error?: string }>((resolve) => {
      worker.once('message', resolve);
      worker.once('error', (error) => resolve({ error: `WebGPU is not available: ${error.message.split('\n')[0]}` }));
    });
    if (!first.ready) {
      await worker.terminate();
      throw new GpuError(first.error ?? 'the GPU worker did not start');
    }
    worker.unref();
    const close = async () => {
      // Terminating the thread while Dawn destroys the device aborts the process: wait for the worker's word (or its
      // end, or 10 s: a hung driver must not hang the caller).
      const closed = new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 10_000);
        const done = () => {
          clearTimeout(timer);
          resolve();
        };
        worker.on('message', (m) => m === 'closed' && done());
        worker.once('exit', done);
      });
      worker.postMessage('close');
      await closed;
      await worker.terminate();
    };
    return new WebGpuDevice(kernels, first.ready, new GpuChannel(worker, shared), close);
  }

  describe(): string {
    return `webgpu (${this.adapter.description || this.adapter.device}); host side: ${this.kernels.describe()}`;
  }

  alloc<D extends Dtype>(dtype: D, shape: readonly number[]): GpuTensor {
    const t = new GpuTensor(this.nextId++, dtype, shape);
    this.channel.setup({ type: 'alloc', id: t.id, floats: elements(shape) });
    return t;
  }

  free(t: Tensor): void {
    this.channel.setup({ type: 'free', id: this.gpu(t).id });
  }

  upload<D extends Dtype>(src: HostArray<D>, dst: Tensor, offset = 0): void {
    // Ids travel as their bytes (a copy of the Int32Array, viewed as floats: no value conversion).
    const data = src instanceof Float32Array ? src.slice() : new Float32Array(src.slice().buffer);
    this.channel.setup({ type: 'write', id: this.gpu(dst).id, offset, data });
  }

  async download<D extends Dtype>(src: Tensor, dst: HostArray<D>, offset = 0): Promise<void> {
    this.downloadNow(src, dst, offset);
  }

  /** download, answered before it returns (the worker does the asynchronous part). */
  downloadNow<D extends Dtype>(src: Tensor, dst: HostArray<D>, offset = 0): void {
    const into = new SharedArrayBuffer(dst.length * 4);
    this.channel.setup({ type: 'read', id: this.gpu(src).id, offset, floats: dst.length, into });
    const got = new Float32Array(into);
    if (dst instanceof Float32Array) dst.set(got);
    else dst.set(new Int32Array(into));
  }

  /** Every request is answered before the next is sent: nothing is left queued. */
  async flush(): Promise<void> {}

  /** Compiles a program onto its own arena, or onto `shared` (programs that exchange the same inputs and outputs). */
  compile(program: Program, shared = new SharedArrayBuffer(Math.max(16, program.arenaFloats * 4))): GpuProgram {
    if (shared.byteLength < program.arenaFloats * 4) throw new RangeError(`a program needs an arena of ${program.arenaFloats} floats`);
    const id = this.nextId++;
    this.channel.setup({ type: 'compile', id, program, arena: shared });
    return new GpuProgram(this.channel, id, shared);
  }

  /** WebGPU tells no memory size; the largest tensor a kernel can bind stands for it (a fast tier is one tensor). */
  memory(): DeviceMemory {
    return { totalBytes: this.adapter.maxTensorBytes, freeBytes: this.adapter.maxTensorBytes };
  }

  lane(owner: LaneOwner): Lane {
    return this.kernels.lane(owner);
  }

  /** Ends the worker and the GPU device. */
  dispose(): Promise<void> {
    return this.close();
  }

  private gpu(t: Tensor): GpuTensor {
    if (!(t instanceof GpuTensor)) throw new Error(`a ${t.device} tensor is not on webgpu`);
    return t;
  }
}
