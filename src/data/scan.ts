/** Scans that keep damaged data from the kernels: the first value out of its domain, or -1. */

export function firstIdOutOfRange(ids: Int32Array, rows: number): number {
  for (let i = 0; i < ids.length; i++) if (ids[i] < 0 || ids[i] >= rows) return i;
  return -1;
}

export function firstNonFinite(values: Float32Array): number {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return i;
  return -1;
}

export function firstNotBinary(labels: Float32Array): number {
  for (let i = 0; i < labels.length; i++) if (labels[i] !== 0 && labels[i] !== 1) return i;
  return -1;
}
