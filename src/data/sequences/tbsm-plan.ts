/**
 * Which users give which samples, and where their rows go, decided from per-user counts and last times alone (before
 * any window is cut): TBSM's split by last event time (users whose last event comes after the 70% quantile of last
 * times are test users), the seeded choice of training and validation users among the others, and partitions of
 * consecutive user ids whose rows are contiguous in each part (train rows first, then validation, then test).
 */
import { Rng } from '../../util/rng.ts';
import { maxUserEvents, pointsOfUser, type SequenceShape } from './tbsm-samples.ts';

export const trainFlag = 1, validationFlag = 2, testFlag = 4;
export type PartName = 'train' | 'validation' | 'test';
export const partNames: PartName[] = ['train', 'validation', 'test'];

export interface Partition {
  firstUser: number;
  endUser: number;
  events: number;
  /** The partition's first row in each part, counted from the start of the dataset. */
  firstRow: Record<PartName, number>;
  rows: Record<PartName, number>;
}

export interface SamplePlan {
  /** Per user id, its part flags. */
  flags: Uint8Array;
  partitions: Partition[];
  /** Rows per part. */
  parts: Record<PartName, number>;
}

export interface PlanOptions extends SequenceShape {
  /** Training users taking training points (null: all). */
  numTrainPts: number | null;
  /** Training users taking a validation point (null: all, at most 300000). */
  numValPts: number | null;
  seed: number;
  /** Events a partition holds at most (unless one user has more). */
  eventsPerPartition: number;
}

/** The default number of validation users: TBSM validates on the first 300000 lines of its training users. */
const defaultValidationUsers = 300_000;

/** TBSM's split time: the last time at index floor(0.7 * users) of the users' sorted last times. */
export function splitTime(lastTimes: Float64Array): number {
  return Float64Array.from(lastTimes).sort()[Math.floor(0.7 * lastTimes.length)];
}

/** Rows a user gives to each part, by its flags and event count. */
export function rowsOfUser(flags: number, events: number, pointsPerUser: number): Record<PartName, number> {
  const capped = Math.min(events, maxUserEvents);
  return {
    train: flags & trainFlag ? 2 * pointsOfUser(capped, pointsPerUser) : 0,
    validation: flags & validationFlag ? 2 * pointsOfUser(capped, 1) : 0,
    test: flags & testFlag ? 1 : 0,
  };
}

export function planSamples(userEvents: Float64Array, lastTimes: Float64Array, o: PlanOptions): SamplePlan {
  const users = userEvents.length, flags = new Uint8Array(users), split = splitTime(lastTimes);
  const trainUsers: number[] = [];
  for (let u = 0; u < users; u++) {
    if (lastTimes[u] > split) flags[u] = testFlag;
    else trainUsers.push(u);
  }
  // Two seeded draws over the training users: the first numTrainPts of one take training points, the first
  // numValPts of the other a validation point (TBSM draws validation with its own seed, seed + 31).
  const choose = (count: number, seed: number, flag: number) => {
    const order = new Rng(seed, 71).permutation(trainUsers.length);
    for (let k = 0; k < Math.min(count, trainUsers.length); k++) flags[trainUsers[order[k]]] |= flag;
  };
  choose(o.numTrainPts ?? trainUsers.length, o.seed, trainFlag);
  choose(o.numValPts ?? defaultValidationUsers, o.seed + 31, validationFlag);

  const partitions: Partition[] = [], parts: Record<PartName, number> = { train: 0, validation: 0, test: 0 };
  for (let u = 0; u < users;) {
    const p: Partition = { firstUser: u, endUser: u, events: 0, firstRow: { ...parts }, rows: { train: 0, validation: 0, test: 0 } };
    while (u < users && (p.events === 0 || p.events + userEvents[u] <= o.eventsPerPartition)) {
      const rows = rowsOfUser(flags[u], userEvents[u], o.pointsPerUser);
      for (const part of partNames) p.rows[part] += rows[part];
      p.events += userEvents[u++];
    }
    p.endUser = u;
    for (const part of partNames) parts[part] += p.rows[part];
    partitions.push(p);
  }
  // Rows were counted per part: validation follows the training rows, test the validation rows.
  for (const p of partitions) {
    p.firstRow.validation += parts.train;
    p.firstRow.test += parts.train + parts.validation;
  }
  return { flags, partitions, parts };
}
