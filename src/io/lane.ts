/**
 * Lanes: an in-order job queue per owner, each with its own worker beside the compute threads. The 'host' lane
 * pools a micro-batch's host rows, writes back their updates and refetches rows a later update made stale; the
 * 'loader' lane reads a streaming loader's blocks; an SSD tier's reads get one of their own. Jobs of one lane run
 * in submission order, each no earlier than its submission; lanes are independent, so no job waits behind
 * another owner's. The arrays a job reads or writes must stay untouched until wait(job) returns.
 */
import type { Bags, SlotLayout, SparseUpdate } from '../kernels/kernels.ts';

/** The owners hotline knows; any other name opens a lane of its own too. */
export type LaneOwner = 'host' | 'loader' | 'ssd' | (string & {});

/** When a lane job ran (nanoseconds on the monotonic clock of now()), and its count (bags refetched, bytes read). */
export interface LaneJob {
  startNs: number;
  endNs: number;
  count: number;
}

/** Each job method queues its job and returns its id (unique across lanes); wait(job) takes an id of this lane. */
export interface Lane {
  readonly owner: LaneOwner;
  /** Pools the bags' host rows into out (as embeddingForward). */
  gather(host: Float32Array[], bags: Bags, layout: SlotLayout, out: Float32Array): number;
  /** Re-pools the bags that read a row listed in touched[t] (copied at submission); its count is how many. */
  refetch(host: Float32Array[], bags: Bags, layout: SlotLayout, out: Float32Array, touched: Int32Array[]): number;
  /** The embeddingUpdate of host rows, run on the lane. */
  update(host: Float32Array[], bags: Bags, layout: SlotLayout, grad: Float32Array, update: SparseUpdate): number;
  /** Reads target.byteLength bytes of a file at a position into target (a loader's prefetch); count = bytes read. */
  read(path: string, position: number, target: ArrayBufferView): number;
  /** Blocks until the job has run; a job is waited for once. */
  wait(job: number): LaneJob;
  now(): number;
}
