/** A small seeded generator (sfc32): deterministic streams for initialisation, shuffling and synthetic data. */
export class Rng {
  /** The four 32-bit words as int32 (the same bits as sfc32's uint32s): as object fields, values above 2^31 would
   *  be boxed on every step, and int32 arithmetic stays in machine integers. */
  private readonly s = new Int32Array(4);
  /** The second Box-Muller value, NaN when there is none (a number field: no boxing). */
  private spareNormal = NaN;

  constructor(seed: number, stream = 0) {
    this.s[0] = 0x9e3779b9;
    this.s[1] = seed >>> 0;
    this.s[2] = (stream * 0x85ebca6b) >>> 0;
    this.s[3] = 1;
    for (let i = 0; i < 15; i++) this.nextUint32();
  }

  /** The generator's position, to continue it elsewhere (checkpoints). */
  state(): number[] {
    return [...Uint32Array.from(this.s), this.spareNormal];
  }

  restore(state: number[]): void {
    this.s.set(state.slice(0, 4));
    this.spareNormal = state[4];
  }

  nextUint32(): number {
    const s = this.s, a = s[0], b = s[1], c = s[2], d = s[3];
    const t = (a + b + d) | 0;
    s[3] = (d + 1) | 0;
    s[0] = b ^ (b >>> 9);
    s[1] = (c + (c << 3)) | 0;
    s[2] = (((c << 21) | (c >>> 11)) + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  next(): number {
    return (this.nextUint32() * 2097152 + (this.nextUint32() >>> 11)) / 9007199254740992;
  }

  /** Uniform integer in [0, n) for n <= 2^32. */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box-Muller, both values used). */
  normal(): number {
    if (!Number.isNaN(this.spareNormal)) {
      const v = this.spareNormal;
      this.spareNormal = NaN;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const r = Math.sqrt(-2 * Math.log(u)), theta = 2 * Math.PI * this.next();
    this.spareNormal = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  /** A seeded Fisher-Yates permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }
}
