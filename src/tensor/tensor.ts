/**
 * Tensor handles: which device holds a tensor, its element type and shape; never the bytes (tfjs's TensorInfo, tinygrad's
 * Buffer). A device that computes in host memory hands out HostTensors, whose host view is the typed array its
 * kernels run on; a GPU device's tensors live in its own memory and move by upload and download.
 */
export type Dtype = 'f32' | 'i32';

export interface Tensor {
  /** The device's name (cpu-native, cpu-ts, webgpu). */
  readonly device: string;
  readonly dtype: Dtype;
  readonly shape: readonly number[];
}

export type HostArray<D extends Dtype> = D extends 'f32' ? Float32Array : Int32Array;

export const elements = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

export class HostTensor<D extends Dtype = Dtype> implements Tensor {
  constructor(readonly device: string, readonly dtype: D, readonly shape: readonly number[], readonly data: HostArray<D>) {
    if (data.length !== elements(shape)) throw new RangeError(`a [${shape.join(', ')}] tensor needs ${elements(shape)} elements, got ${data.length}`);
  }
}
