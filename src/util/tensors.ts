/** The typed arrays a checkpoint holds, and reading them back by name: shared by every layer that saves state. */

export type TensorArray = Float32Array | Float64Array | Int32Array | Uint32Array | Uint8Array;

/** An array with the shape it is saved under (row-major: the last dimension varies fastest). */
export interface ShapedTensor {
  data: TensorArray;
  shape: number[];
}

/** A state's arrays as a checkpoint takes them: a plain array is saved as one dimension. */
export type SavedTensor = TensorArray | ShapedTensor;

export function shaped(t: SavedTensor): ShapedTensor {
  return ArrayBuffer.isView(t) ? { data: t, shape: [t.length] } : t;
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Tensors of a saved state, read on demand. */
export interface TensorReader {
  has(name: string): boolean;
  read(name: string): TensorArray;
}
