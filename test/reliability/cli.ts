// Runs the real hotline command and checks how it refuses: exit code, exactly one line on stderr, no stack trace.
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const bin = new URL('../../bin/hotline.mjs', import.meta.url).pathname;

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function hotline(args: string[], options: SpawnSyncOptions = {}): Run {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', ...options });
  return { status: r.status, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** The run failed with `code` and said why in one line `hotline: ...` matching `message`. */
export function assertRefused(r: Run, message: RegExp, code = 2): void {
  const detail = `exit ${r.status}\nstderr: ${r.stderr}\nstdout: ${r.stdout.slice(-500)}`;
  assert.equal(r.status, code, detail);
  assert.doesNotMatch(r.stderr, /^\s+at /m, `a stack trace: ${detail}`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `more than one line on stderr: ${detail}`);
  assert.match(lines[0], /^hotline: /);
  assert.match(lines[0], message);
}

export function scratch(label: string): string {
  return mkdtempSync(join(tmpdir(), `hotline-${label}-`));
}

/** A small model for runs that only need to start. */
export const tiny = ['--arch-mlp-bot', '13-8', '--arch-mlp-top', '4-1', '--arch-sparse-feature-size', '8'];

/** Escapes text for a RegExp. */
export const literal = (text: string) => new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
