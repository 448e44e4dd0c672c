/**
 * The memory a model needs, checked before anything is allocated: a table set, a layer or a batch that cannot fit
 * is refused naming the flag that sized it and the bytes it needs, instead of ending in an allocation failure.
 */
import { formatBytes } from '../util/bytes.ts';
import { ArchError, type DlrmArch, interactionWidth } from './arch.ts';

/** The most elements one typed array holds. */
const maxArrayElements = 2 ** 32 - 1;

export interface MemoryNeedOptions {
  batchSize: number;
  testBatchSize: number;
  /** Row-wise Adagrad keeps a float per row and dense Adagrad one per weight. */
  adagrad: boolean;
  /** Where the table sizes came from, for the message (a flag, or a dataset's cardinalities). */
  tablesFrom: string;
  /** The tables live on the SSD: no array holds a whole table, and host memory holds none of them. */
  tablesOnDisk?: boolean;
  availableBytes: number;
}

interface Part {
  what: string;
  flag: string;
  bytes: number;
}

/** Throws ArchError when a part of the model cannot be allocated, or all of it together does not fit. */
export function checkMemoryNeed(arch: DlrmArch, o: MemoryNeedOptions): void {
  const dim = arch.embeddingDim, layers = mlpLayers(arch);
  arch.tableRows.forEach((rows, t) => {
    if (!o.tablesOnDisk && rows * dim > maxArrayElements) {
      throw new ArchError(`${o.tablesFrom}: table ${t + 1} has ${rows.toLocaleString('en-US')} rows x ${dim}, more than the ${maxArrayElements.toLocaleString('en-US')} floats one table can hold`);
    }
  });
  for (const l of layers) {
    if (l.inputs * l.outputs > maxArrayElements) {
      throw new ArchError(`${l.flag}: a ${l.inputs.toLocaleString('en-US')} x ${l.outputs.toLocaleString('en-US')} layer has more weights than one array can hold`);
    }
  }
  const rows = arch.tableRows.reduce((a, b) => a + b, 0);
  const weights = layers.reduce((n, l) => n + l.inputs * l.outputs + l.outputs, 0);
  // Per sample: each layer's output and its gradient, the interaction's features, output and their gradients.
  const perSample = 2 * (layers.reduce((n, l) => n + l.outputs, 0) + (arch.tableRows.length + 1) * dim + interactionWidth(arch)) + arch.bottomMlp[0];
  const batch = Math.max(o.batchSize, o.testBatchSize), batchFlag = o.batchSize >= o.testBatchSize ? '--mini-batch-size' : '--test-mini-batch-size';
  const widest = layers.reduce((a, b) => (b.outputs > a.outputs ? b : a));
  const perSampleNote = 2 * widest.outputs > perSample / 2 ? `, mostly the ${widest.outputs.toLocaleString('en-US')}-wide layer of ${widest.flag}` : '';
  const parts: Part[] = [
    { what: 'the embedding tables', flag: o.tablesFrom, bytes: o.tablesOnDisk ? 0 : 4 * rows * (dim + (o.adagrad ? 1 : 0)) },
    { what: 'the MLPs', flag: widest.flag, bytes: 4 * weights * (o.adagrad ? 3 : 2) },
    { what: `the activations of a batch of ${batch.toLocaleString('en-US')} (${formatBytes(4 * perSample)} a sample${perSampleNote})`, flag: batchFlag, bytes: 4 * perSample * batch },
  ];
  const total = parts.reduce((n, p) => n + p.bytes, 0);
  if (total <= o.availableBytes) return;
  const largest = parts.reduce((a, b) => (b.bytes > a.bytes ? b : a));
  throw new ArchError(
    `${largest.flag}: ${largest.what} need ${formatBytes(largest.bytes)}${largest.bytes < 0.9 * total ? ` (the model ${formatBytes(total)} in all)` : ''}; ` +
      `this machine has ${formatBytes(o.availableBytes)} of memory`,
  );
}

function mlpLayers(arch: DlrmArch): { inputs: number; outputs: number; flag: string }[] {
  const chain = (widths: number[], flag: string) => widths.slice(1).map((outputs, l) => ({ inputs: widths[l], outputs, flag }));
  return [...chain(arch.bottomMlp, '--arch-mlp-bot'), ...chain([interactionWidth(arch), ...arch.topMlp], '--arch-mlp-top')];
}
