/** A finished (or running) run directory read back for reporting: config, environment, logs, summary, extras. */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { DataError } from '../util/errors.ts';
import type { TimelineEvent } from '../pipeline/timeline.ts';
import type { AccessAnalysis } from '../popularity/analysis.ts';
import type { TrainResult } from '../train/trainer.ts';
import { parseExact } from '../util/json.ts';

export interface TrainLine {
  step: number;
  samples: number;
  loss: number;
  samplesPerSecond: number;
  trainSeconds: number;
  phases: Record<string, number>;
  skippedInputs?: number;
  popularInputs?: number;
}

export interface TestLine {
  step: number;
  samples: number;
  auc: number;
  logloss: number;
  accuracy: number;
}

export interface RunRecord {
  dir: string;
  /** Name in legends: the folder's name, or the policy when each run has its own. */
  label: string;
  policy: string;
  config: Record<string, unknown>;
  environment: Record<string, unknown> | null;
  train: TrainLine[];
  test: TestLine[];
  events: Record<string, unknown>[];
  summary: TrainResult | null;
  profile: AccessAnalysis | null;
  timeline: TimelineEvent[] | null;
}

function readJson(file: string): unknown {
  try {
    return parseExact(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new DataError(`${file}: ${(error as Error).message}`);
  }
}

const optionalJson = (file: string) => (existsSync(file) ? readJson(file) : null);

/** JSON lines; a line cut short by a kill (the last one) is left out, any other bad line is an error. */
function readLines(file: string): Record<string, unknown>[] {
  if (!existsSync(file)) return [];
  const lines = readFileSync(file, 'utf8').split('\n');
  const records: Record<string, unknown>[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      records.push(parseExact(line) as Record<string, unknown>);
    } catch {
      if (i < lines.length - 1) throw new DataError(`${file}:${i + 1}: not a JSON record`);
    }
  });
  return records;
}

export function readRun(dir: string): RunRecord {
  const configFile = join(dir, 'config.json');
  if (!existsSync(configFile)) throw new DataError(`${dir}: no config.json, not a hotline run directory`);
  const config = readJson(configFile) as Record<string, unknown>;
  const metrics = readLines(join(dir, 'metrics.jsonl'));
  return {
    dir, label: basename(dir), policy: String(config.policy ?? 'baseline'), config,
    environment: optionalJson(join(dir, 'environment.json')) as Record<string, unknown> | null,
    train: metrics.filter((m) => m.kind === 'train') as unknown as TrainLine[],
    test: metrics.filter((m) => m.kind === 'test') as unknown as TestLine[],
    events: readLines(join(dir, 'events.jsonl')),
    summary: optionalJson(join(dir, 'summary.json')) as TrainResult | null,
    profile: optionalJson(join(dir, 'profile.json')) as AccessAnalysis | null,
    timeline: optionalJson(join(dir, 'timeline.json')) as TimelineEvent[] | null,
  };
}
