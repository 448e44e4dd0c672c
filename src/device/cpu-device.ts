/** The CPU devices: the native kernels or their TypeScript oracle, computing in host memory. */
import { freemem, totalmem } from 'node:os';
import type { Lane, LaneOwner } from '../io/lane.ts';
import type { Kernels } from '../kernels/kernels.ts';
import { type Dtype, elements, type HostArray, HostTensor, type Tensor } from '../tensor/tensor.ts';
import type { CpuDeviceName, Device, DeviceMemory } from './device.ts';

export class CpuDevice implements Device {
  constructor(readonly name: CpuDeviceName, readonly kernels: Kernels) {}

  describe(): string {
    return this.kernels.describe();
  }

  alloc<D extends Dtype>(dtype: D, shape: readonly number[]): HostTensor<D> {
    const n = elements(shape), data = (dtype === 'f32' ? new Float32Array(n) : new Int32Array(n)) as HostArray<D>;
    return new HostTensor(this.name, dtype, shape, data);
  }

  upload<D extends Dtype>(src: HostArray<D>, dst: Tensor, offset = 0): void {
    this.host(dst).data.set(src, offset);
  }

  async download<D extends Dtype>(src: Tensor, dst: HostArray<D>, offset = 0): Promise<void> {
    dst.set(this.host(src).data.subarray(offset, offset + dst.length));
  }

  /** CPU work runs when called: nothing is queued. */
  async flush(): Promise<void> {}

  /** Host memory is the device's memory. */
  memory(): DeviceMemory {
    return { totalBytes: totalmem(), freeBytes: freemem() };
  }

  lane(owner: LaneOwner): Lane {
    return this.kernels.lane(owner);
  }

  private host(t: Tensor): HostTensor {
    if (!(t instanceof HostTensor) || t.device !== this.name) throw new Error(`a ${t.device} tensor is not on ${this.name}`);
    return t;
  }
}
