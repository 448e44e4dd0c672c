/** The typed arrays a checkpoint holds, and reading them back by name: shared by every layer that saves state. */

export type TensorArray = Float32Array | Float64Array | Int32Array | Uint32Array | Uint8Array;

/** Tensors of a saved state, read on demand. */
export interface TensorReader {
  has(name: string): boolean;
  read(name: string): TensorArray;
}
