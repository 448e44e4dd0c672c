/**
 * A run's checkpoints: `checkpoints/step-<N>/` holding `state.safetensors` (every tensor: tables, MLPs,
 * optimizer state, the policy's arrays) and `checkpoint.json` (the manifest: step, the trainer's and policy's
 * scalar state, and the tensor file's size and SHA-256). A checkpoint is written into a `.partial` folder,
 * fsynced and renamed, so a crash leaves either a complete checkpoint or a partial folder that is ignored.
 * Loading checks the manifest, the size and the checksum; a checkpoint that fails is refused with the reason
 * and set aside, and the one before it is tried.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fsyncPath, writeFileAtomic } from '../util/atomic-file.ts';
import { parseExact, stringifyExact } from '../util/json.ts';
import { sha256OfFileInWorker } from '../util/file-hash.ts';
import { SafetensorsError, SafetensorsFile, writeSafetensors } from './safetensors.ts';
import type { ShapedTensor } from '../util/tensors.ts';

export const checkpointFormat = 'hotline-checkpoint';
/** 2: tensors keep their shapes and go by module names (1: flat, by index). */
export const checkpointVersion = 2;
const tensorFile = 'state.safetensors';
const manifestFile = 'checkpoint.json';

export interface CheckpointManifest {
  format: typeof checkpointFormat;
  version: number;
  step: number;
  createdAt: string;
  /** Scalars and small records of the trainer and the policy (JSON with Infinity and NaN kept). */
  state: Record<string, unknown>;
  tensors: { file: string; bytes: number; sha256: string };
}

export interface Checkpoint {
  name: string;
  path: string;
  manifest: CheckpointManifest;
  tensors: SafetensorsFile;
}

export class CheckpointError extends Error {}

/** A sound checkpoint of another format version: resume stops at it (the older ones are no better). */
class CheckpointVersionError extends CheckpointError {}

/** Runs f, reporting a malformed tensor file as a CheckpointError. */
export function readingTensors<T>(f: () => T): T {
  try {
    return f();
  } catch (error) {
    if (error instanceof SafetensorsError) throw new CheckpointError(error.message);
    throw error;
  }
}

export class CheckpointStore {
  constructor(readonly dir: string, readonly keep: number) {}

  /** Names of the complete-looking checkpoints, oldest first. */
  list(): string[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir).filter((n) => /^step-\d+$/.test(n)).sort();
  }

  /** The step of the oldest checkpoint kept (0 when there is none). */
  oldestStep(): number {
    const first = this.list()[0];
    return first ? Number(first.slice('step-'.length)) : 0;
  }

  async save(step: number, state: Record<string, unknown>, tensors: Map<string, ShapedTensor>): Promise<string> {
    mkdirSync(this.dir, { recursive: true });
    const name = `step-${String(step).padStart(10, '0')}`, final = join(this.dir, name), partial = `${final}.partial`;
    rmSync(partial, { recursive: true, force: true });
    mkdirSync(partial);
    const digest = await writeSafetensors(join(partial, tensorFile), tensors, { format: checkpointFormat, step: String(step) });
    const manifest: CheckpointManifest = {
      format: checkpointFormat, version: checkpointVersion, step, createdAt: new Date().toISOString(), state,
      tensors: { file: tensorFile, ...digest },
    };
    writeFileAtomic(join(partial, manifestFile), `${stringifyExact(manifest, 1)}\n`);
    rmSync(final, { recursive: true, force: true }); // a refused checkpoint of the same step, when resuming
    renameSync(partial, final);
    fsyncPath(this.dir);
    for (const old of this.list().slice(0, -this.keep)) rmSync(join(this.dir, old), { recursive: true, force: true });
    return final;
  }

  /** Opens and checks one checkpoint; throws CheckpointError saying what is wrong. */
  async open(name: string): Promise<Checkpoint> {
    const path = join(this.dir, name);
    let manifest: CheckpointManifest;
    try {
      manifest = parseExact(readFileSync(join(path, manifestFile), 'utf8')) as CheckpointManifest;
    } catch (error) {
      throw new CheckpointError(`${join(path, manifestFile)}: unreadable (${(error as Error).message})`);
    }
    if (manifest?.format !== checkpointFormat || !manifest.tensors) throw new CheckpointError(`${join(path, manifestFile)}: not a ${checkpointFormat} manifest`);
    if (manifest.version !== checkpointVersion) {
      throw new CheckpointVersionError(`${path}: checkpoint format version ${manifest.version}; this hotline reads version ${checkpointVersion}`);
    }
    const file = join(path, manifest.tensors.file);
    if (!existsSync(file)) throw new CheckpointError(`${file}: missing`);
    const digest = await sha256OfFileInWorker(file);
    if (digest.bytes !== manifest.tensors.bytes) {
      throw new CheckpointError(`${file}: ${digest.bytes} bytes, the manifest says ${manifest.tensors.bytes} (truncated or overwritten)`);
    }
    if (digest.sha256 !== manifest.tensors.sha256) throw new CheckpointError(`${file}: SHA-256 does not match the manifest (corrupted)`);
    return { name, path, manifest, tensors: readingTensors(() => new SafetensorsFile(file)) };
  }

  /** The newest checkpoint that passes its checks; each refused one is reported through `warn`. */
  async latest(warn: (message: string) => void): Promise<Checkpoint | null> {
    for (const name of this.list().reverse()) {
      try {
        return await this.open(name);
      } catch (error) {
        if (!(error instanceof CheckpointError) || error instanceof CheckpointVersionError) throw error;
        // Set aside (not deleted: it may be worth a look), so rotation never keeps it over a good one.
        renameSync(join(this.dir, name), join(this.dir, `${name}.refused`));
        warn(`checkpoint ${name} refused: ${error.message}; set aside as ${name}.refused`);
      }
    }
    return null;
  }
}
