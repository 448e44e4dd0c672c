/** The counter-based hash behind fillUniform; native/embedding.cc computes exactly the same values. */
export function hash32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

export function uniformAt(key: number, index: number): number {
  return (hash32((key ^ hash32(index)) >>> 0) >>> 8) / 16777216;
}

export function streamKey(seed: number, stream: number): number {
  return hash32((seed ^ hash32((stream + 0x9e3779b9) >>> 0)) >>> 0);
}
