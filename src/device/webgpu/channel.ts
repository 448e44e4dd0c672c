/**
 * The main thread's line to the GPU worker. A step is one request over shared memory: the program's id and input
 * count go into a control block, Atomics wake the worker, and the main thread sleeps in Atomics.wait until the
 * answer (the outputs already in the arena). Setup (tensors, programs, bulk copies) goes by message. The worker
 * never blocks: it waits with Atomics.waitAsync, so Dawn's events keep running on its thread.
 */
import type { Worker } from 'node:worker_threads';
import { maxParams, type Program, type RunSize } from './program.ts';

/** Control block words: then the run's parameters from Params on. */
export const enum Word { Request, Done, Status, Program, Inputs, Params }
export const controlWords = Word.Params + maxParams;
export const errorBytes = 4096;

export type SetupMessage =
  | { type: 'alloc'; id: number; floats: number }
  | { type: 'free'; id: number }
  | { type: 'write'; id: number; offset: number; data: Float32Array }
  | { type: 'read'; id: number; offset: number; floats: number; into: SharedArrayBuffer }
  | { type: 'compile'; id: number; program: Program; arena: SharedArrayBuffer }
  | { type: 'release'; id: number };

export class GpuError extends Error {}

/** The control words and the error text of a control block. */
function controlViews(shared: SharedArrayBuffer): { control: Int32Array; errorText: Uint8Array } {
  return { control: new Int32Array(shared, 0, controlWords), errorText: new Uint8Array(shared, controlWords * 4, errorBytes) };
}

/** How long a request may take before the worker is taken for dead (a Dawn crash in it ends the process anyway). */
const answerTimeoutMs = 10 * 60 * 1000;

export class GpuChannel {
  private readonly control: Int32Array;
  private readonly errorText: Uint8Array;
  private pending = false;

  constructor(private readonly worker: Worker, shared: SharedArrayBuffer) {
    ({ control: this.control, errorText: this.errorText } = controlViews(shared));
  }

  static shared(): SharedArrayBuffer {
    return new SharedArrayBuffer(controlWords * 4 + errorBytes);
  }

  /** Sends a setup message and waits for its answer. */
  setup(message: SetupMessage): void {
    this.begin();
    this.worker.postMessage(message);
    this.wait();
  }

  /** Starts program `id` at a size; wait() returns when its outputs are in the arena. */
  start(id: number, size: RunSize): void {
    if (size.params.length > maxParams) throw new RangeError(`a run takes at most ${maxParams} parameters`);
    this.begin();
    Atomics.store(this.control, Word.Program, id);
    Atomics.store(this.control, Word.Inputs, size.n);
    for (let i = 0; i < maxParams; i++) Atomics.store(this.control, Word.Params + i, size.params[i] ?? 0);
    Atomics.store(this.control, Word.Request, 1);
    Atomics.notify(this.control, Word.Request);
  }

  wait(): void {
    const deadline = Date.now() + answerTimeoutMs;
    while (Atomics.load(this.control, Word.Done) === 0) {
      if (Date.now() > deadline) throw new GpuError('the GPU worker did not answer in 10 minutes');
      Atomics.wait(this.control, Word.Done, 0, 1000);
    }
    this.pending = false;
    Atomics.store(this.control, Word.Done, 0);
    if (Atomics.load(this.control, Word.Status) !== 0) {
      const end = this.errorText.indexOf(0);
      throw new GpuError(`the GPU: ${new TextDecoder().decode(this.errorText.slice(0, end < 0 ? errorBytes : end))}`);
    }
  }

  private begin(): void {
    if (this.pending) throw new Error('a GPU request is still running');
    this.pending = true;
  }
}

/** The worker's end: answers each request with its status (and the error's message). */
export class WorkerEnd {
  readonly control: Int32Array;

  /** The size of the run requested. */
  size(): RunSize {
    const params = Array.from({ length: maxParams }, (_, i) => Atomics.load(this.control, Word.Params + i));
    return { n: Atomics.load(this.control, Word.Inputs), params };
  }
  private readonly errorText: Uint8Array;

  constructor(shared: SharedArrayBuffer) {
    ({ control: this.control, errorText: this.errorText } = controlViews(shared));
  }

  answer(error: unknown): void {
    if (error === null) {
      Atomics.store(this.control, Word.Status, 0);
    } else {
      const text = new TextEncoder().encode(error instanceof Error ? error.message : String(error)).subarray(0, errorBytes - 1);
      this.errorText.fill(0);
      this.errorText.set(text);
      Atomics.store(this.control, Word.Status, 1);
    }
    Atomics.store(this.control, Word.Done, 1);
    Atomics.notify(this.control, Word.Done);
  }
}
