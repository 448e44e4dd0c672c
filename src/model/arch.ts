/** DLRM architecture, given as dlrm-style strings ("13-512-256-64-16") or a preset. */

export type Interaction = 'dot' | 'cat';

export interface DlrmArch {
  /** Bottom MLP widths, input (the dense feature count) first; the last equals the embedding dim for 'dot'. */
  bottomMlp: number[];
  /** Top MLP widths after the interaction (dlrm's --arch-mlp-top, which leaves out the input width). */
  topMlp: number[];
  embeddingDim: number;
  tableRows: number[];
  interaction: Interaction;
}

export const kaggleRows = [
  1460, 583, 10131227, 2202608, 305, 24, 12517, 633, 3, 93145, 5683, 8351593, 3194, 27, 14992, 5461306, 10, 5652,
  2173, 4, 7046547, 18, 15, 286181, 105, 142572,
];
/** Criteo Terabyte cardinalities as capped by dlrm's --max-ind-range=10000000. */
export const terabyteRows = [
  9980333, 36084, 17217, 7378, 20134, 3, 7112, 1442, 61, 9758201, 1333352, 313829, 10, 2208, 11156, 122, 4, 970, 14,
  9994222, 7267859, 9946608, 415421, 12420, 101, 36,
];

export const presets: Record<string, DlrmArch> = {
  kaggle: {
    bottomMlp: [13, 512, 256, 64, 16], topMlp: [512, 256, 1], embeddingDim: 16, tableRows: kaggleRows, interaction: 'dot',
  },
  terabyte: {
    bottomMlp: [13, 512, 256, 64], topMlp: [512, 512, 256, 1], embeddingDim: 64, tableRows: terabyteRows, interaction: 'dot',
  },
  // TBSM's event tower on Taobao (facebookresearch/tbsm's bench script): user, item and category tables.
  taobao: {
    bottomMlp: [1, 16], topMlp: [15, 15], embeddingDim: 16, tableRows: [987994, 4162024, 9439], interaction: 'dot',
  },
};

export class ArchError extends Error {}

/** What the top MLP produces: DLRM's click logit, or a vector (TBSM's event tower). */
export type DlrmOutput = 'logit' | 'vector';

/** Parses "13-512-256" into widths, naming the flag in the error. */
export function parseWidths(text: string, flag: string): number[] {
  const parts = text.split('-');
  const widths = parts.map(Number);
  if (parts.some((p) => !/^\d+$/.test(p)) || widths.some((w) => w < 1)) {
    throw new ArchError(`${flag}: expected positive integers joined by '-', got '${text}'`);
  }
  return widths;
}

/** Width of the interaction output, which is the top MLP's input. */
export function interactionWidth(arch: DlrmArch): number {
  const features = arch.tableRows.length + 1;
  return arch.interaction === 'dot'
    ? arch.embeddingDim + (features * (features - 1)) / 2
    : arch.embeddingDim * features;
}

export function validateArch(arch: DlrmArch, output: DlrmOutput = 'logit'): DlrmArch {
  const bottomOut = arch.bottomMlp[arch.bottomMlp.length - 1];
  if (arch.bottomMlp.length < 2) throw new ArchError('--arch-mlp-bot: needs an input width and at least one layer');
  if (bottomOut !== arch.embeddingDim) {
    throw new ArchError(
      `--arch-mlp-bot ends in ${bottomOut} but --arch-sparse-feature-size is ${arch.embeddingDim}; they must match`,
    );
  }
  if (arch.topMlp.length < 1) throw new ArchError('--arch-mlp-top: needs at least one layer');
  if (output === 'logit' && arch.topMlp[arch.topMlp.length - 1] !== 1) {
    throw new ArchError(`--arch-mlp-top must end in 1 (one click logit), got '${arch.topMlp.join('-')}'`);
  }
  if (arch.tableRows.length < 1) throw new ArchError('--arch-embedding-size: at least one table is needed');
  if (arch.tableRows.some((r) => !Number.isInteger(r) || r < 1)) {
    throw new ArchError('--arch-embedding-size: every table needs a positive integer row count');
  }
  return arch;
}

export function describeArch(arch: DlrmArch): string {
  const rows = arch.tableRows.reduce((a, b) => a + b, 0);
  const gib = (rows * arch.embeddingDim * 4) / 2 ** 30;
  return (
    `bottom ${arch.bottomMlp.join('-')}, top ${interactionWidth(arch)}-${arch.topMlp.join('-')}, ` +
    `${arch.tableRows.length} tables, ${rows.toLocaleString('en-US')} rows x ${arch.embeddingDim} (${gib.toFixed(2)} GiB), ` +
    `${arch.interaction} interaction`
  );
}
