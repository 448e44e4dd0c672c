/**
 * A device runs a training step's math and owns a memory: it allocates tensors, moves bytes in (upload, queued in order)
 * and out (download, asynchronous), says how much memory it has (the fast tier's capacity check), and gives its kernels
 * and the lanes that work beside them. cpu-native and cpu-ts compute in host memory, so their tensors are host views
 * and a copy is a memcpy; webgpu (next) keeps its own.
 */
import type { Lane, LaneOwner } from '../io/lane.ts';
import type { Kernels } from '../kernels/kernels.ts';
import type { Dtype, HostArray, Tensor } from '../tensor/tensor.ts';

export type CpuDeviceName = 'cpu-native' | 'cpu-ts';
export type DeviceName = CpuDeviceName | 'webgpu';

export interface DeviceMemory {
  totalBytes: number;
  freeBytes: number;
}

export interface Device {
  readonly name: DeviceName;
  readonly kernels: Kernels;
  /** What it runs on, e.g. "native (GEMM: OpenBLAS SkylakeX; 2 threads)". */
  describe(): string;
  alloc<D extends Dtype>(dtype: D, shape: readonly number[]): Tensor;
  /** Copies src into dst from element offset on (queued in order with the device's work). */
  upload<D extends Dtype>(src: HostArray<D>, dst: Tensor, offset?: number): void;
  /** Copies src from element offset on into dst once the work before it is done. */
  download<D extends Dtype>(src: Tensor, dst: HostArray<D>, offset?: number): Promise<void>;
  /** Resolves when every queued operation has run. */
  flush(): Promise<void>;
  memory(): DeviceMemory;
  lane(owner: LaneOwner): Lane;
  /** Releases what the device holds beyond the process's memory (a GPU worker); absent where nothing is. */
  dispose?(): Promise<void>;
}
