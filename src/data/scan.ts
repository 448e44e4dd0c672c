/**
 * Range scans of a dataset's columns as it loads: the index of the first bad element, or -1. Native when the
 * addon is built (vectorised, blocks spread over its thread pool), else the plain loops below, which give the
 * same answers and are the reference the native scans are tested against.
 */
import { loadNativeAddon } from '../util/addon.ts';

export interface Scans {
  /** The first id < 0 or >= rows. */
  firstIdOutOfRange(ids: Int32Array, rows: number): number;
  /** The first NaN, +Infinity or -Infinity. */
  firstNonFinite(values: Float32Array): number;
  /** The first label other than 0 or 1. */
  firstNotBinary(labels: Float32Array): number;
}

export const typescriptScans: Scans = {
  firstIdOutOfRange(ids, rows) {
    for (let i = 0; i < ids.length; i++) if (ids[i] < 0 || ids[i] >= rows) return i;
    return -1;
  },
  firstNonFinite(values) {
    for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return i;
    return -1;
  },
  firstNotBinary(labels) {
    // 0 and 1 are the roots of v(v - 1): one test, without the branch on each label that `!== 0 && !== 1`
    // takes (twice as fast on a shuffled column).
    for (let i = 0; i < labels.length; i++) if (labels[i] * (labels[i] - 1) !== 0) return i;
    return -1;
  },
};

const addon = loadNativeAddon<Scans>();

/** The addon's scans, or null when it is not built. */
export const nativeScans: Scans | null = addon instanceof Error ? null : addon;

export const { firstIdOutOfRange, firstNonFinite, firstNotBinary }: Scans = nativeScans ?? typescriptScans;
