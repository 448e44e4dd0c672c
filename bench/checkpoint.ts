/**
 * Checkpoint cost on the Kaggle model (26 tables, 33.8M rows x 16: 2.16 GB, plus the MLPs): hotline's save
 * (safetensors with SHA-256 computed while writing, fsync, atomic rename), its checks on resume (size and
 * SHA-256 of the file) and its restore into the model, against torch.save / torch.load of the same tensors
 * (with an fsync, so both are on disk) in the same run. Writes bench/out/checkpoint.json.
 *   node --import tsx bench/checkpoint.ts [--dir /tmp]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CheckpointStore } from '../src/checkpoint/checkpoint-store.ts';
import { modelTensors, restoreModel } from '../src/checkpoint/model-state.ts';
import { createKernels } from '../src/device/registry.ts';
import { presets } from '../src/model/arch.ts';
import { Dlrm } from '../src/model/dlrm.ts';
import { Optimizer } from '../src/optim/optimizer.ts';
import { HostTables } from '../src/embedding/tables.ts';

const { values } = parseArgs({ options: { dir: { type: 'string', default: '/tmp' } } });
const folder = mkdtempSync(join(values.dir!, 'hotline-bench-checkpoint-'));
const kernels = createKernels('auto', 2);
const model = new Dlrm(kernels, presets.kaggle, 1);
const optimizer = new Optimizer({ name: 'sgd', lr: 0.1, eps: 0, initialAccumulator: 0 });
const home = new HostTables(kernels, model.tables, 1);
const tensors = modelTensors(model, home, optimizer);
const seconds = async (f: () => unknown) => {
  const t = process.hrtime.bigint();
  await f();
  return Number(process.hrtime.bigint() - t) / 1e9;
};

const store = new CheckpointStore(join(folder, 'checkpoints'), 1);
const save = await seconds(() => store.save(1, {}, tensors));
let checkpoint = (await store.latest(() => {}))!;
const verify = await seconds(async () => (checkpoint = await store.open(checkpoint.name)));
const restore = await seconds(() => restoreModel(model, home, optimizer, checkpoint.tensors));
const bytes = checkpoint.manifest.tensors.bytes;
rmSync(join(folder, 'checkpoints'), { recursive: true });

const shapes = Object.fromEntries([...tensors].map(([name, t]) => [name, t.data.length]));
const torch = JSON.parse(execFileSync('/usr/bin/python3', [join(import.meta.dirname, 'torch_checkpoint.py'), folder, JSON.stringify(shapes)], { encoding: 'utf8' }));
rmSync(folder, { recursive: true });

const gb = bytes / 1e9;
const rows = [
  { step: 'save (write + SHA-256 + fsync)', hotline: save, torch: torch.saveSeconds },
  { step: 'resume: check + restore', hotline: verify + restore, torch: torch.loadSeconds },
];
console.log(`checkpoint of the Kaggle model: ${gb.toFixed(2)} GB (hotline) / ${(torch.bytes / 1e9).toFixed(2)} GB (torch)`);
console.log('step | hotline s | GB/s | torch s | torch / hotline');
for (const r of rows) console.log(`${r.step} | ${r.hotline.toFixed(2)} | ${(gb / r.hotline).toFixed(2)} | ${r.torch.toFixed(2)} | ${(r.torch / r.hotline).toFixed(2)}`);
console.log(`resume split: SHA-256 check ${verify.toFixed(2)} s, restore ${restore.toFixed(2)} s`);
mkdirSync(join(import.meta.dirname, 'out'), { recursive: true });
writeFileSync(join(import.meta.dirname, 'out', 'checkpoint.json'), JSON.stringify({ bytes, save, verify, restore, torch }, null, 2));
