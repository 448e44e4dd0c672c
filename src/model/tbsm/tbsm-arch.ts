/**
 * TBSM's architecture, as facebookresearch/tbsm's flags give it: a DLRM event tower (its top MLP ends in the event
 * vector z, ReLU on every layer), a time series layer (TSL) of one or more heads over the history of tsLength
 * events, and per head an MLP on [context, candidate] to a click probability (several heads: one more MLP on their
 * probabilities).
 */
import { ArchError, type DlrmArch, validateArch } from '../arch.ts';

/** The inner product the attention scores take between history and candidate: w'Av (ind), w'A'Av (def), w'v (dot). */
export type TslInner = 'dot' | 'ind' | 'def';
/** The coefficients from the scores: an MLP with a sigmoid on its last layer (mlp), or the scores themselves (mul). */
export type TslMechanism = 'mlp' | 'mul';

export interface TbsmArch {
  tower: DlrmArch;
  /** History events per sample; a sample is tsLength + 1 events, the candidate last. */
  tsLength: number;
  heads: number;
  /** Heads over the last round(tsLength * (heads - h) / heads) events each, instead of all (tbsm's --tsl-seq). */
  sequential: boolean;
  /** Normalise every event vector to the unit sphere (tbsm's --tsl-proj). */
  project: boolean;
  inner: TslInner;
  mechanism: TslMechanism;
  /** The attention MLP's hidden widths (tbsm's --tsl-mlp; its input and output are the head's history length). */
  attentionMlp: number[];
  /** Each head's MLP after its input 2 z (tbsm's --arch-mlp, ending in 1). */
  headMlp: number[];
}

/** The event vector's width: the tower's last top width. */
export const eventWidth = (arch: TbsmArch): number => arch.tower.topMlp[arch.tower.topMlp.length - 1];

/** Python's round(): halves to the even neighbour. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Each head's history length, the most recent events (tbsm's ts_array). */
export function headLengths(arch: TbsmArch): number[] {
  if (!arch.sequential) return Array(arch.heads).fill(arch.tsLength);
  const share = arch.tsLength / arch.heads;
  return Array.from({ length: arch.heads }, (_, h) => Math.min(arch.tsLength, roundHalfEven(share * (arch.heads - h))));
}

export function validateTbsmArch(arch: TbsmArch): TbsmArch {
  validateArch(arch.tower, 'vector');
  if (!Number.isInteger(arch.tsLength) || arch.tsLength < 1) throw new ArchError(`--ts-length: expected a positive integer, got ${arch.tsLength}`);
  if (!Number.isInteger(arch.heads) || arch.heads < 1) throw new ArchError(`--tsl-num-heads: expected a positive integer, got ${arch.heads}`);
  if (headLengths(arch).some((l) => l < 1)) throw new ArchError(`--tsl-seq: ${arch.heads} heads leave one with no event of --ts-length ${arch.tsLength}`);
  if (arch.headMlp.length < 1 || arch.headMlp[arch.headMlp.length - 1] !== 1) {
    throw new ArchError(`--arch-mlp must end in 1 (a head's click probability), got '${arch.headMlp.join('-')}'`);
  }
  return arch;
}

export function describeTbsmArch(arch: TbsmArch): string {
  const z = eventWidth(arch), t = arch.tower;
  const rows = t.tableRows.reduce((a, b) => a + b, 0);
  return (
    `TBSM: tower bottom ${t.bottomMlp.join('-')}, top ...-${t.topMlp.join('-')} (z ${z}), ${t.tableRows.length} tables, ` +
    `${rows.toLocaleString('en-US')} rows x ${t.embeddingDim}; TSL ${arch.heads} head(s) over ${arch.tsLength} events ` +
    `(${arch.inner} inner, ${arch.mechanism}${arch.mechanism === 'mlp' ? ` ${arch.attentionMlp.join('-')}` : ''}` +
    `${arch.project ? ', projected' : ''}${arch.sequential ? ', sequential' : ''}), head MLP ${2 * z}-${arch.headMlp.join('-')}`
  );
}
