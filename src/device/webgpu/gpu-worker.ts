/**
 * The GPU worker: owns the Dawn device and does nothing but GPU calls, so its thread never runs JavaScript long
 * enough for Dawn to abort the process (../shared/research/ts-stack.md, section 4). It answers setup messages and
 * program runs one at a time, in the order they come.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { create, globals } from 'webgpu';
import { type SetupMessage, Word, WorkerEnd } from './channel.ts';
import { type CompiledProgram, Executor } from './executor.ts';

Object.assign(globalThis, globals);
const { control: shared, adapter: wanted } = workerData as { control: SharedArrayBuffer; adapter: string | null };
const end = new WorkerEnd(shared);
const gpu = create([]);
const adapters = await Promise.all((['high-performance', 'low-power'] as const).map((powerPreference) => gpu.requestAdapter({ powerPreference })));
const adapter = adapters.find((a) => a && (wanted === null || a.info.description === wanted || a.info.device === wanted)) ?? null;
if (!adapter) {
  parentPort!.postMessage({ error: wanted ? `no WebGPU adapter named '${wanted}'` : 'WebGPU found no adapter' });
} else {
  const l = adapter.limits;
  const device = await adapter.requestDevice({
    requiredLimits: { maxBufferSize: l.maxBufferSize, maxStorageBufferBindingSize: l.maxStorageBufferBindingSize, maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage },
  });
  const executor = new Executor(device), programs = new Map<number, CompiledProgram>();
  let queue: Promise<void> = Promise.resolve();
  const serve = (work: () => void | Promise<void>) => {
    queue = queue.then(async () => {
      try {
        await work();
        const failure = executor.failure;
        executor.failure = null;
        if (failure) throw new Error(failure);
        end.answer(null);
      } catch (error) {
        end.answer(error);
      }
    });
  };
  parentPort!.on('message', (m: SetupMessage | 'close') => {
    if (m === 'close') {
      // After the work queued before it (destroying the device under a pending buffer map aborts the process); the
      // host terminates this thread once told, never while Dawn is inside destroy.
      void queue.then(() => {
        device.destroy();
        parentPort!.postMessage('closed');
      });
      return;
    }
    serve(async () => {
      switch (m.type) {
        case 'alloc': return executor.alloc(m.id, m.floats);
        case 'free': return executor.free(m.id);
        case 'write':
          return executor.write({ slot: 0, tensor: m.id, floats: m.data.length, offset: m.offset }, m.data, { n: 0, params: [] });
        case 'read':
          return executor.read({ slot: 0, tensor: m.id, floats: m.floats, offset: m.offset }, new Float32Array(m.into));
        case 'compile':
          programs.set(m.id, executor.compile(m.program, new Float32Array(m.arena)));
          return;
        case 'release':
          programs.get(m.id)?.destroy();
          programs.delete(m.id);
      }
    });
  });
  const { info } = adapter;
  parentPort!.postMessage({ ready: { vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description, maxTensorBytes: Math.min(l.maxBufferSize, l.maxStorageBufferBindingSize) } });
  // Program runs: woken through the control block, never blocking this thread.
  for (;;) {
    const waiting = Atomics.waitAsync(end.control, Word.Request, 0);
    if (waiting.async) await waiting.value;
    Atomics.store(end.control, Word.Request, 0);
    const id = Atomics.load(end.control, Word.Program), size = end.size();
    serve(() => {
      const program = programs.get(id);
      if (!program) throw new Error(`program ${id} was never compiled`);
      return program.run(size);
    });
    await queue;
  }
}
