/**
 * TBSM's samples from one user's events (facebookresearch/tbsm: tools/taobao_prepare.py for the test set,
 * tbsm_data_pytorch.py for training and validation): windows of tsLength + 1 events, the history oldest first and
 * the candidate last. A training point is a positive (a window of real events, its last one the "next event") and a
 * negative (tsLength real events, then a random item the user never touched); a test sample is the user's last
 * events, its candidate the real last event or, half the time, a random other item. Positions before the user's
 * first event are padding (the padding ids of the item and category tables; the user stays the sample's user).
 */
import { DataError } from '../../util/errors.ts';
import type { Rng } from '../../util/rng.ts';

/** TBSM's MAX_LEN: the most recent events a user's samples are drawn from, history and target both. */
export const maxUserEvents = 200;

export interface SequenceShape {
  tsLength: number;
  pointsPerUser: number;
}

/** Training points of a user with `events` events (after the cap): none up to 10, then 1, 3, 6 by tens, then
 *  pointsPerUser (TBSM's regime table). */
export function pointsOfUser(events: number, pointsPerUser: number): number {
  const regime = Math.floor((events - 1) / 10);
  return Math.min(pointsPerUser, [0, 1, 3, 6][regime] ?? Infinity);
}

/** The ids every sample draws from: the items (ids 0..items-1, each with its category) and the padding ids. */
export interface Catalog {
  items: number;
  itemCategory: Int32Array;
  padItem: number;
  padCategory: number;
}

/** One user's events, oldest first, after the cap; `touched` tells the items of all of the user's events, of which
 *  there are `distinctTouched`. */
export interface UserEvents {
  user: number;
  items: Int32Array;
  categories: Int32Array;
  touched: (item: number) => boolean;
  distinctTouched: number;
}

/** Rows of samples: per row, a label and tsLength + 1 ids in each of the user, item and category columns. */
export interface SampleRows {
  labels: Float32Array;
  users: Int32Array;
  items: Int32Array;
  categories: Int32Array;
}

/** A uniform item the predicate accepts (the caller makes sure one exists). */
function randomItem(rng: Rng, catalog: Catalog, refuse: (item: number) => boolean): number {
  for (;;) {
    const item = rng.int(catalog.items);
    if (!refuse(item)) return item;
  }
}

/** Row `row`: the events at positions [first, first + count) (padding below 0), then the candidate, if any. */
function writeRow(out: SampleRows, row: number, u: UserEvents, catalog: Catalog, first: number, count: number, label: number, candidate: number | null): void {
  const width = count + (candidate === null ? 0 : 1), at = row * width;
  out.labels[row] = label;
  out.users.fill(u.user, at, at + width);
  for (let j = 0; j < count; j++) {
    const p = first + j;
    out.items[at + j] = p < 0 ? catalog.padItem : u.items[p];
    out.categories[at + j] = p < 0 ? catalog.padCategory : u.categories[p];
  }
  if (candidate !== null) {
    out.items[at + count] = candidate;
    out.categories[at + count] = catalog.itemCategory[candidate];
  }
}

/** A user's `points` positive then `points` negative rows from `row` on; the last event is left to the test set. */
export function writeTrainingRows(out: SampleRows, row: number, u: UserEvents, points: number, shape: SequenceShape, catalog: Catalog, rng: Rng): number {
  const ts = shape.tsLength, last = u.items.length - 2;
  for (let k = 0; k < points; k++) {
    const low = Math.min(ts, last), end = low + rng.int(last - low + 1);
    writeRow(out, row++, u, catalog, end - ts, ts + 1, 1, null);
  }
  for (let k = 0; k < points; k++) {
    const low = Math.min(ts - 1, last), end = low + rng.int(last - low + 1);
    if (u.distinctTouched >= catalog.items) throw new DataError(`user id ${u.user} touched every one of the ${catalog.items} items: no negative candidate`);
    writeRow(out, row++, u, catalog, end - ts + 1, ts, 0, randomItem(rng, catalog, u.touched));
  }
  return row;
}

/** The test row of a user: its last tsLength + 1 events, the last one replaced by a random other item half the time. */
export function writeTestRow(out: SampleRows, row: number, u: UserEvents, shape: SequenceShape, catalog: Catalog, rng: Rng): void {
  const ts = shape.tsLength, lastItem = u.items[u.items.length - 1];
  if (rng.int(2) === 1 && catalog.items > 1) {
    writeRow(out, row, u, catalog, u.items.length - 1 - ts, ts, 0, randomItem(rng, catalog, (item) => item === lastItem));
  } else {
    writeRow(out, row, u, catalog, u.items.length - 1 - ts, ts + 1, 1, null);
  }
}

