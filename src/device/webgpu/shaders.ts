/**
 * The WGSL kernels of a training step, each with its parameters (a uniform struct generated from one field list, so
 * the shader and the packing cannot disagree) and its storage bindings in order. Elementwise kernels cover more
 * than 65,535 workgroups by folding the index over a 2-D grid. Every reduction is a fixed tree in workgroup memory:
 * the same inputs give the same bits, run after run.
 */

export type ParamType = 'u32' | 'f32';

export interface Binding {
  name: string;
  access: 'read' | 'read_write';
  /** Element type (f32 unless given). */
  type?: 'f32' | 'i32';
}

export interface ShaderSpec {
  params: [string, ParamType][];
  bindings: Binding[];
  /** The body: functions and the entry point `main`, after the generated struct and bindings. */
  body: string;
}

const read = (name: string): Binding => ({ name, access: 'read' });
const write = (name: string): Binding => ({ name, access: 'read_write' });
const readInts = (name: string): Binding => ({ name, access: 'read', type: 'i32' });

export const workgroupSize = 256;
/** Rows and columns of the GEMM tile one workgroup computes. */
export const gemmTile = 64;

/** The flat invocation index of an elementwise kernel dispatched over a 2-D grid of 256-wide workgroups. */
const flatIndex = `fn flat(g: vec3u, n: vec3u) -> u32 { return (g.y * n.x * ${workgroupSize}u) + g.x; }`;

/** An elementwise kernel's entry point: one invocation per element, its flat index named `index`, then `body`. */
const elementwise = (index: string, body: string) => `${flatIndex}
@compute @workgroup_size(${workgroupSize})
fn main(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) n: vec3u) {
  let ${index} = flat(g, n);${body}
}`;

export const shaders = {
  gemm: {
    params: [['M', 'u32'], ['N', 'u32'], ['K', 'u32'], ['lda', 'u32'], ['ldb', 'u32'], ['ldc', 'u32'], ['transA', 'u32'], ['transB', 'u32'],
      ['aOffset', 'u32'], ['bOffset', 'u32'], ['cOffset', 'u32'], ['alpha', 'f32'], ['beta', 'f32']],
    bindings: [read('A'), read('B'), write('C')],
    // A 64x64 tile of C per workgroup of 16x16 invocations, 4x4 each; K in steps of 16 through workgroup memory. Each
    // operand is loaded along its contiguous dimension so neighbouring invocations read neighbouring floats.
    body: /* wgsl */ `
var<workgroup> As: array<array<f32, 64>, 16>;
var<workgroup> Bs: array<array<f32, 64>, 16>;
fn loadA(i: u32, k: u32) -> f32 {
  if (i >= p.M || k >= p.K) { return 0.0; }
  if (p.transA == 1u) { return A[p.aOffset + k * p.lda + i]; }
  return A[p.aOffset + i * p.lda + k];
}
fn loadB(k: u32, j: u32) -> f32 {
  if (k >= p.K || j >= p.N) { return 0.0; }
  if (p.transB == 1u) { return B[p.bOffset + j * p.ldb + k]; }
  return B[p.bOffset + k * p.ldb + j];
}
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) l: vec3u) {
  let row0 = wg.y * 64u;
  let col0 = wg.x * 64u;
  let t = l.y * 16u + l.x;
  var acc: array<f32, 16>;
  for (var k0 = 0u; k0 < p.K; k0 += 16u) {
    for (var r = 0u; r < 4u; r++) {
      let e = t + r * 256u;
      if (p.transA == 1u) { As[e / 64u][e % 64u] = loadA(row0 + e % 64u, k0 + e / 64u); }
      else { As[e % 16u][e / 16u] = loadA(row0 + e / 16u, k0 + e % 16u); }
      if (p.transB == 1u) { Bs[e % 16u][e / 16u] = loadB(k0 + e % 16u, col0 + e / 16u); }
      else { Bs[e / 64u][e % 64u] = loadB(k0 + e / 64u, col0 + e % 64u); }
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      for (var i = 0u; i < 4u; i++) {
        let a = As[kk][l.y * 4u + i];
        for (var j = 0u; j < 4u; j++) { acc[i * 4u + j] += a * Bs[kk][l.x * 4u + j]; }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let r = row0 + l.y * 4u + i;
    if (r >= p.M) { continue; }
    for (var j = 0u; j < 4u; j++) {
      let c = col0 + l.x * 4u + j;
      if (c >= p.N) { continue; }
      let at = p.cOffset + r * p.ldc + c;
      var v = p.alpha * acc[i * 4u + j];
      if (p.beta != 0.0) { v += p.beta * C[at]; }
      C[at] = v;
    }
  }
}`,
  },
  biasActivation: {
    params: [['count', 'u32'], ['cols', 'u32'], ['relu', 'u32']],
    bindings: [write('Y'), read('bias')],
    body: elementwise('i', /* wgsl */ `
  if (i >= p.count) { return; }
  var v = Y[i] + bias[i % p.cols];
  if (p.relu == 1u) { v = max(v, 0.0); }
  Y[i] = v;`),
  },
  activationBackward: {
    params: [['rows', 'u32'], ['cols', 'u32'], ['relu', 'u32']],
    bindings: [write('dY'), read('Y'), write('dBias')],
    // One workgroup per column: dY is masked by ReLU's derivative, and its column sum is dBias.
    body: /* wgsl */ `
var<workgroup> part: array<f32, ${workgroupSize}>;
@compute @workgroup_size(${workgroupSize})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) l: vec3u) {
  let c = wg.x;
  var s = 0.0;
  for (var r = l.x; r < p.rows; r += ${workgroupSize}u) {
    let at = r * p.cols + c;
    var d = dY[at];
    if (p.relu == 1u && Y[at] <= 0.0) { d = 0.0; dY[at] = 0.0; }
    s += d;
  }
  part[l.x] = s;
  workgroupBarrier();
  for (var w = ${workgroupSize / 2}u; w > 0u; w = w / 2u) {
    if (l.x < w) { part[l.x] += part[l.x + w]; }
    workgroupBarrier();
  }
  if (l.x == 0u) { dBias[c] = part[0]; }
}`,
  },
  copy2d: {
    params: [['rows', 'u32'], ['cols', 'u32'], ['srcStride', 'u32'], ['srcOffset', 'u32'], ['dstStride', 'u32'], ['dstOffset', 'u32']],
    bindings: [read('src'), write('dst')],
    body: elementwise('i', /* wgsl */ `
  if (i >= p.rows * p.cols) { return; }
  let r = i / p.cols;
  let c = i % p.cols;
  dst[p.dstOffset + r * p.dstStride + c] = src[p.srcOffset + r * p.srcStride + c];`),
  },
  interactionForward: {
    params: [['rows', 'u32'], ['features', 'u32'], ['dim', 'u32'], ['outStride', 'u32']],
    bindings: [read('T'), write('out')],
    // out[b] = [T[b,0,:], <T[b,i],T[b,j]> for i = 1..F-1, j < i]: one invocation per output value.
    body: elementwise('e', /* wgsl */ `
  let width = p.dim + p.features * (p.features - 1u) / 2u;
  if (e >= p.rows * width) { return; }
  let b = e / width;
  let q = e % width;
  let t = b * p.features * p.dim;
  if (q < p.dim) { out[b * p.outStride + q] = T[t + q]; return; }
  let pair = q - p.dim;
  var i = u32(floor((1.0 + sqrt(1.0 + 8.0 * f32(pair))) / 2.0));
  while (i * (i - 1u) / 2u > pair) { i -= 1u; }
  while ((i + 1u) * i / 2u <= pair) { i += 1u; }
  let j = pair - i * (i - 1u) / 2u;
  var s = 0.0;
  for (var k = 0u; k < p.dim; k++) { s += T[t + i * p.dim + k] * T[t + j * p.dim + k]; }
  out[b * p.outStride + q] = s;`),
  },
  interactionBackward: {
    params: [['rows', 'u32'], ['features', 'u32'], ['dim', 'u32'], ['outStride', 'u32']],
    bindings: [read('T'), read('dOut'), write('dT')],
    // dT[b,f,k] = [f = 0] dOut[b,k] + sum over g != f of dOut[b, pair(f,g)] T[b,g,k]: one invocation per element.
    body: elementwise('e', /* wgsl */ `
  let per = p.features * p.dim;
  if (e >= p.rows * per) { return; }
  let b = e / per;
  let f = (e % per) / p.dim;
  let k = e % p.dim;
  let o = b * p.outStride;
  var s = 0.0;
  if (f == 0u) { s = dOut[o + k]; }
  for (var h = 0u; h < p.features; h++) {
    if (h == f) { continue; }
    let hi = max(f, h);
    let lo = min(f, h);
    s += dOut[o + p.dim + hi * (hi - 1u) / 2u + lo] * T[b * per + h * p.dim + k];
  }
  dT[e] = s;`),
  },
  bceWithLogits: {
    params: [['rows', 'u32']],
    bindings: [read('logits'), read('labels'), write('dLogits'), write('loss')],
    // The numerically stable BCE on logits; one workgroup, a fixed reduction tree for the mean.
    body: /* wgsl */ `
var<workgroup> part: array<f32, ${workgroupSize}>;
fn log1p(x: f32) -> f32 {
  let u = 1.0 + x;
  if (u == 1.0) { return x; }
  return log(u) * x / (u - 1.0);
}
fn sigmoid(z: f32) -> f32 {
  if (z >= 0.0) { return 1.0 / (1.0 + exp(-z)); }
  let e = exp(z);
  return e / (1.0 + e);
}
@compute @workgroup_size(${workgroupSize})
fn main(@builtin(local_invocation_id) l: vec3u) {
  var s = 0.0;
  let n = f32(p.rows);
  for (var i = l.x; i < p.rows; i += ${workgroupSize}u) {
    let z = logits[i];
    let y = labels[i];
    s += max(z, 0.0) - z * y + log1p(exp(-abs(z)));
    dLogits[i] = (sigmoid(z) - y) / n;
  }
  part[l.x] = s;
  workgroupBarrier();
  for (var w = ${workgroupSize / 2}u; w > 0u; w = w / 2u) {
    if (l.x < w) { part[l.x] += part[l.x + w]; }
    workgroupBarrier();
  }
  if (l.x == 0u) { loss[0] = part[0] / n; }
}`,
  },
  embeddingPool: {
    params: [['tables', 'u32'], ['bags', 'u32'], ['dim', 'u32'], ['stride', 'u32'], ['slot0', 'u32'], ['accumulate', 'u32']],
    bindings: [read('W'), readInts('ids'), readInts('offsets'), write('out')],
    // Sum-pools each bag of a jagged batch (offsets over tables x bags) from one table of rows x dim into its slot of
    // out [bags x stride] at slot0 + t * dim: one invocation per output value, the bag's rows summed in order.
    body: elementwise('e', /* wgsl */ `
  if (e >= p.tables * p.bags * p.dim) { return; }
  let bag = e / p.dim;
  let k = e % p.dim;
  let t = bag / p.bags;
  let b = bag % p.bags;
  let at = b * p.stride + p.slot0 + t * p.dim + k;
  var s = 0.0;
  if (p.accumulate == 1u) { s = out[at]; }
  for (var q = offsets[bag]; q < offsets[bag + 1u]; q++) { s += W[u32(ids[q]) * p.dim + k]; }
  out[at] = s;`),
  },
  rowUpdate: {
    params: [['segments', 'u32'], ['dim', 'u32'], ['stride', 'u32'], ['slot0', 'u32'], ['bags', 'u32'], ['adagrad', 'u32'], ['lr', 'f32'], ['eps', 'f32']],
    bindings: [write('W'), write('state'), read('grad'), readInts('rows'), readInts('starts'), readInts('lookups')],
    // One workgroup per distinct row (rowSegments): its gradient summed over its lookups in batch order, then SGD or
    // row-wise Adagrad (the state grows by the mean square of the row's gradient) applied once. dim <= ${workgroupSize}.
    body: /* wgsl */ `
var<workgroup> g: array<f32, ${workgroupSize}>;
var<workgroup> part: array<f32, 64>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) n: vec3u, @builtin(local_invocation_id) l: vec3u) {
  let u = wg.y * n.x + wg.x;
  let live = u < p.segments;
  var row = 0u;
  var sq = 0.0;
  if (live) {
    row = u32(rows[u]);
    for (var k = l.x; k < p.dim; k += 64u) {
      var s = 0.0;
      for (var q = starts[u]; q < starts[u + 1u]; q++) {
        let bag = u32(lookups[q]);
        s += grad[(bag % p.bags) * p.stride + p.slot0 + (bag / p.bags) * p.dim + k];
      }
      g[k] = s;
      sq += s * s;
    }
  }
  part[l.x] = sq;
  workgroupBarrier();
  for (var w = 32u; w > 0u; w = w / 2u) {
    if (l.x < w) { part[l.x] += part[l.x + w]; }
    workgroupBarrier();
  }
  if (!live) { return; }
  var denominator = 1.0;
  if (p.adagrad == 1u) {
    let st = state[row] + part[0] / f32(p.dim);
    denominator = sqrt(st) + p.eps;
    workgroupBarrier();
    if (l.x == 0u) { state[row] = st; }
  }
  for (var k = l.x; k < p.dim; k += 64u) { W[row * p.dim + k] -= p.lr * (g[k] / denominator); }
}`,
  },
  gatherRows: {
    params: [['count', 'u32'], ['dim', 'u32']],
    bindings: [read('src'), readInts('rows'), write('dst')],
    // Row i of dst [count x dim] is row rows[i] of src: the rows a tier sync or a snapshot reads, packed.
    body: elementwise('e', /* wgsl */ `
  if (e >= p.count * p.dim) { return; }
  dst[e] = src[u32(rows[e / p.dim]) * p.dim + e % p.dim];`),
  },
  scatterRows: {
    params: [['count', 'u32'], ['dim', 'u32']],
    bindings: [read('src'), readInts('rows'), write('dst')],
    // Row i of src [count x dim] becomes row rows[i] of dst (the rows distinct): a tier sync's writes.
    body: elementwise('e', /* wgsl */ `
  if (e >= p.count * p.dim) { return; }
  dst[u32(rows[e / p.dim]) * p.dim + e % p.dim] = src[e];`),
  },
  rowChange: {
    params: [['count', 'u32'], ['dim', 'u32'], ['relative', 'u32']],
    bindings: [read('before'), read('after'), write('change')],
    // Slipstream's measure per row: the largest change of an element between two snapshots, relative: over the
    // row's largest element before (floored at 1e-12).
    body: elementwise('r', /* wgsl */ `
  if (r >= p.count) { return; }
  var worst = 0.0;
  var size = 0.0;
  for (var k = r * p.dim; k < (r + 1u) * p.dim; k++) {
    worst = max(worst, abs(after[k] - before[k]));
    size = max(size, abs(before[k]));
  }
  if (p.relative == 1u) { worst = worst / max(size, 1e-12); }
  change[r] = worst;`),
  },
  sgd: {
    params: [['length', 'u32'], ['lr', 'f32']],
    bindings: [write('w'), read('grad')],
    body: elementwise('i', /* wgsl */ `
  if (i < p.length) { w[i] -= p.lr * grad[i]; }`),
  },
  adagrad: {
    params: [['length', 'u32'], ['lr', 'f32'], ['eps', 'f32']],
    bindings: [write('w'), write('state'), read('grad')],
    body: elementwise('i', /* wgsl */ `
  if (i >= p.length) { return; }
  let d = grad[i];
  let s = state[i] + d * d;
  state[i] = s;
  w[i] -= p.lr * d / (sqrt(s) + p.eps);`),
  },
} satisfies Record<string, ShaderSpec>;

export type KernelName = keyof typeof shaders;

/** The full WGSL of a kernel: its parameter struct, its bindings, its body. */
export function wgslOf(spec: ShaderSpec): string {
  const fields = spec.params.map(([name, type]) => `  ${name}: ${type},`).join('\n');
  const bindings = spec.bindings.map((b, i) => `@group(0) @binding(${i + 1}) var<storage, ${b.access}> ${b.name}: array<${b.type ?? 'f32'}>;`).join('\n');
  return `struct Params {\n${fields}\n}\n@group(0) @binding(0) var<uniform> p: Params;\n${bindings}\n${spec.body}\n`;
}

/** The uniform bytes of a kernel's parameters, in its field order (16-byte multiple, as uniform buffers need). */
export function packParams(spec: ShaderSpec, values: Record<string, number>): ArrayBuffer {
  const buffer = new ArrayBuffer(Math.ceil((spec.params.length * 4) / 16) * 16), view = new DataView(buffer);
  spec.params.forEach(([name, type], i) => {
    const v = values[name];
    if (v === undefined) throw new Error(`kernel parameter ${name} is missing`);
    if (type === 'u32') view.setUint32(i * 4, v, true);
    else view.setFloat32(i * 4, v, true);
  });
  return buffer;
}
