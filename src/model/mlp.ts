/** A stack of fully connected layers with ReLU, weights [out x in] as torch.nn.Linear stores them. */
import type { Kernels } from '../kernels/kernels.ts';
import type { Rng } from '../util/rng.ts';

export interface DenseParam {
  name: string;
  /** As PyTorch holds it: [out, in] for a layer's weight, [out] for its bias. */
  shape: number[];
  value: Float32Array;
  grad: Float32Array;
}

export class Linear {
  readonly weight: Float32Array;
  readonly bias: Float32Array;
  readonly weightGrad: Float32Array;
  readonly biasGrad: Float32Array;

  constructor(readonly inputs: number, readonly outputs: number, readonly relu: boolean, rng: Rng) {
    this.weight = new Float32Array(outputs * inputs);
    this.bias = new Float32Array(outputs);
    this.weightGrad = new Float32Array(outputs * inputs);
    this.biasGrad = new Float32Array(outputs);
    // dlrm's initialisation: N(0, sqrt(2 / (fan_in + fan_out))) weights, N(0, sqrt(1 / fan_out)) biases.
    const wStd = Math.sqrt(2 / (inputs + outputs)), bStd = Math.sqrt(1 / outputs);
    for (let i = 0; i < this.weight.length; i++) this.weight[i] = rng.normal() * wStd;
    for (let i = 0; i < outputs; i++) this.bias[i] = rng.normal() * bStd;
  }
}

export class Mlp {
  readonly layers: Linear[];
  private batch = 0;
  private outputs: Float32Array[] = [];
  private outputGrads: Float32Array[] = [];
  private input: Float32Array = new Float32Array(0);
  private inputGradBuffer: Float32Array = new Float32Array(0);

  /** widths[0] is the input; every layer has ReLU unless it is the last and lastRelu is false. */
  constructor(private readonly kernels: Kernels, readonly widths: number[], lastRelu: boolean, rng: Rng) {
    this.layers = widths.slice(1).map((out, l) => new Linear(widths[l], out, l < widths.length - 2 || lastRelu, rng));
  }

  /** Multiply-adds of one input's forward pass, as FLOPs (2 per multiply-add). */
  forwardFlops(): number {
    return this.layers.reduce((n, l) => n + 2 * l.inputs * l.outputs, 0);
  }

  params(prefix: string): DenseParam[] {
    return this.layers.flatMap((layer, l) => [
      { name: `${prefix}.${l}.weight`, shape: [layer.outputs, layer.inputs], value: layer.weight, grad: layer.weightGrad },
      { name: `${prefix}.${l}.bias`, shape: [layer.outputs], value: layer.bias, grad: layer.biasGrad },
    ]);
  }

  private capacity = 0;
  private outputStore: Float32Array[] = [];
  private outputGradStore: Float32Array[] = [];
  private inputGradStore = new Float32Array(0);

  /** Buffers grow to the largest batch seen; smaller batches (micro-batches, a last partial batch) use views. */
  private ensureBatch(batch: number): void {
    if (batch > this.capacity) {
      this.capacity = batch;
      this.outputStore = this.layers.map((l) => new Float32Array(batch * l.outputs));
      this.outputGradStore = this.layers.map((l) => new Float32Array(batch * l.outputs));
      this.inputGradStore = new Float32Array(batch * this.widths[0]);
    }
    this.batch = batch;
    this.outputs = this.layers.map((l, i) => this.outputStore[i].subarray(0, batch * l.outputs));
    this.outputGrads = this.layers.map((l, i) => this.outputGradStore[i].subarray(0, batch * l.outputs));
    this.inputGradBuffer = this.inputGradStore.subarray(0, batch * this.widths[0]);
  }

  /** Runs the layers on input [batch x widths[0]]; returns the last activation (owned by the MLP). */
  forward(input: Float32Array, batch: number): Float32Array {
    this.ensureBatch(batch);
    this.input = input;
    let x = input;
    this.layers.forEach((layer, l) => {
      const y = this.outputs[l];
      this.kernels.gemm(false, true, batch, layer.outputs, layer.inputs, 1, x, layer.inputs, layer.weight, layer.inputs, 0, y, layer.outputs);
      this.kernels.biasActivation(y, batch, layer.outputs, layer.bias, layer.relu);
      x = y;
    });
    return x;
  }

  /** The buffer the caller fills with the gradient of the loss w.r.t. the MLP's output. */
  outputGrad(): Float32Array {
    return this.outputGrads[this.layers.length - 1];
  }

  /**
   * Back-propagates outputGrad() into the layer gradients; returns the input gradient when asked for.
   * With sgdRate, each layer is updated by SGD right after its input gradient is computed, the weight
   * gradient going straight into the weights (W -= rate * dY^T X as one GEMM, never materialised).
   */
  backward(wantInputGrad: boolean, sgdRate: number | null = null): Float32Array | null {
    const batch = this.batch;
    for (let l = this.layers.length - 1; l >= 0; l--) {
      const layer = this.layers[l];
      const dy = this.outputGrads[l];
      const x = l === 0 ? this.input : this.outputs[l - 1];
      this.kernels.activationBackward(dy, this.outputs[l], batch, layer.outputs, layer.relu, layer.biasGrad, false);
      if (l > 0 || wantInputGrad) {
        const dx = l === 0 ? this.inputGradBuffer : this.outputGrads[l - 1];
        this.kernels.gemm(false, false, batch, layer.inputs, layer.outputs, 1, dy, layer.outputs, layer.weight, layer.inputs, 0, dx, layer.inputs);
      }
      if (sgdRate === null) {
        this.kernels.gemm(true, false, layer.outputs, layer.inputs, batch, 1, dy, layer.outputs, x, layer.inputs, 0, layer.weightGrad, layer.inputs);
      } else {
        this.kernels.gemm(true, false, layer.outputs, layer.inputs, batch, -sgdRate, dy, layer.outputs, x, layer.inputs, 1, layer.weight, layer.inputs);
        this.kernels.denseSgd(layer.bias, layer.biasGrad, sgdRate);
      }
    }
    return wantInputGrad ? this.inputGradBuffer : null;
  }
}
