// Devices and tensor handles: the registry, allocation, upload and download, memory, lanes per owner.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDevice, deviceNames } from '../src/device/registry.ts';
import { loadAddon } from '../src/kernels/native.ts';
import { HostTensor } from '../src/tensor/tensor.ts';
import { type AdapterInfo, autoAdapter, listAdapters } from '../src/device/webgpu/adapters.ts';
import { hotline } from './reliability/cli.ts';

const native = loadAddon() instanceof Error ? null : 'cpu-native';

describe('devices', () => {
  it('the registry builds each CPU device by name, and auto takes cpu-native when the addon is built', () => {
    assert.deepEqual([...deviceNames], ['cpu-native', 'cpu-ts']);
    assert.equal(createDevice('cpu-ts').name, 'cpu-ts');
    assert.equal(createDevice('auto').name, native ?? 'cpu-ts');
    if (native) assert.match(createDevice('cpu-native', 2).describe(), /^native .*2 threads/);
  });

  for (const name of deviceNames.filter((n) => n !== 'cpu-native' || native)) {
    it(`${name}: a tensor is a handle with a host view; upload and download copy at an offset; a foreign tensor is refused`, async () => {
      const device = createDevice(name), t = device.alloc('f32', [3, 4]);
      assert.ok(t instanceof HostTensor);
      assert.deepEqual([t.device, t.dtype, [...t.shape]], [name, 'f32', [3, 4]]);
      device.upload(Float32Array.of(1, 2, 3), t, 5);
      const back = new Float32Array(4);
      await device.download(t, back, 4);
      assert.deepEqual([...back], [0, 1, 2, 3]);
      await device.flush();
      const other = createDevice(name === 'cpu-ts' ? (native ?? 'cpu-ts') : 'cpu-ts');
      if (other.name !== name) assert.throws(() => device.upload(Float32Array.of(1), other.alloc('f32', [1])), /tensor is not on/);
      assert.throws(() => new HostTensor(name, 'i32', [2, 2], new Int32Array(3)), /needs 4 elements, got 3/);
      const { totalBytes, freeBytes } = device.memory();
      assert.ok(totalBytes > 0 && freeBytes > 0 && freeBytes <= totalBytes);
      const host = device.lane('host'), job = host.read('/dev/null', 0, new Uint8Array(0));
      assert.equal(device.lane('host').wait(job).count, 0, "one lane per owner: a job is waited for through any handle of its lane");
      assert.throws(() => device.lane('loader').wait(host.read('/dev/null', 0, new Uint8Array(0))), /lane|job/);
    });
  }
});

describe('GPU adapters', () => {
  const adapter = (description: string, software: boolean): AdapterInfo => ({
    vendor: 'v', architecture: software ? 'software' : 'ampere', device: description, description, software,
    limits: { maxBufferSize: 1, maxStorageBufferBindingSize: 1, maxComputeWorkgroupStorageSize: 1, maxComputeInvocationsPerWorkgroup: 1 },
  });

  it('auto takes the first adapter that is not a software rasteriser, else none (the CPU)', () => {
    assert.equal(autoAdapter([adapter('llvmpipe', true), adapter('A100', false), adapter('H200', false)])?.description, 'A100');
    assert.equal(autoAdapter([adapter('llvmpipe', true)]), null);
    assert.equal(autoAdapter([]), null);
  });

  it('lists what Dawn finds from a worker thread; `hotline devices` says what auto picks', async () => {
    const adapters = await listAdapters();
    assert.ok(Array.isArray(adapters), `WebGPU could not be asked: ${(adapters as Error).message}`);
    if (adapters.length === 0) console.log('no WebGPU adapter here (Mesa 25 from bookworm-backports gives lavapipe): adapter checks skipped');
    for (const a of adapters) {
      assert.ok(a.limits.maxBufferSize > 0 && a.limits.maxComputeInvocationsPerWorkgroup > 0, JSON.stringify(a));
      if (/llvmpipe/.test(a.description)) assert.equal(a.software, true, 'lavapipe is a software rasteriser');
    }
    const r = hotline(['devices']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^cpu-native /m);
    const pick = autoAdapter(adapters);
    assert.match(r.stdout, pick ? new RegExp(`auto picks  the GPU ${pick.description}`) : /auto picks  cpu-(native|ts) \(no GPU adapter/);
  });
});
