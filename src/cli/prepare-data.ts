/** The data a run trains on, as the config asks: dlrm's random batches, the synthetic set, or a Criteo TSV. */
import { daySplits, kaggleSplits, partSplits, randomSplits, readBinaryDataset, readManifest, readRowRange, splitBoundaries, verifyChecksums } from '../data/binary-dataset.ts';
import { StreamingSource } from '../data/streaming.ts';
import { UsageError } from './options.ts';
import { DataError } from '../util/errors.ts';
import { readCriteoTsv } from '../data/criteo-tsv.ts';
import { criteoCategorical } from '../data/formats/criteo-tsv.ts';
import { type Dataset, sliceRows } from '../data/dataset.ts';
import { generateSynthetic } from '../data/synthetic.ts';
import type { Device } from '../device/device.ts';
import type { BatchSource } from '../data/batch.ts';
import { DatasetSource, RandomSource } from '../data/sources.ts';
import type { TrainConfig } from './train-config.ts';

export interface PreparedData {
  source: BatchSource;
  test: Dataset | null;
  tableRows: number[];
  denseFeatures: number;
}

/** The training and test splits of a synthetic set or a Criteo TSV (random data has none). */
/** The column names of the configured data's tables (a dataset's own, else Criteo's C1..). */
export function tableNames(config: TrainConfig): string[] | undefined {
  if (config.data.kind === 'dataset') return Array.from({ length: criteoCategorical }, (_, t) => `C${t + 1}`);
  return config.data.kind === 'binary' ? readManifest(config.data.path).categoricalNames : undefined;
}

export function loadSplits(config: TrainConfig, verify = false): { train: Dataset; test: Dataset | null } {
  const { data, arch } = config;
  if (data.kind === 'random') throw new Error('random data is generated per batch and has no dataset');
  if (data.kind === 'binary') {
    const { manifest, data: all } = readBinaryDataset(data.path, verify);
    const { train, test } = data.split === 'day' ? daySplits(all, manifest) : data.split === 'parts' ? partSplits(all, manifest)
      : data.split === 'random' ? randomSplits(all, config.testFraction, config.seed) : kaggleSplits(all, manifest);
    requireRows(data.path, `--split ${data.split}`, all.rows, train.rows, test.rows);
    return { train, test };
  }
  const all = data.kind === 'dataset'
    ? readCriteoTsv(data.path)
    : generateSynthetic({
        rows: data.rows,
        tableRows: data.maxTableRows > 0 ? arch.tableRows.map((n) => Math.min(n, data.maxTableRows)) : arch.tableRows,
        denseFeatures: arch.bottomMlp[0],
        zipf: data.zipf,
        seed: config.seed,
      });
  const testRows = Math.floor(all.rows * config.testFraction);
  const held = config.testFraction > 0;
  requireRows(data.kind === 'dataset' ? data.path : 'the synthetic set', `--test-fraction ${config.testFraction}`, all.rows, all.rows - testRows, held ? testRows : null);
  return { train: sliceRows(all, 0, all.rows - testRows), test: held ? sliceRows(all, all.rows - testRows, all.rows) : null };
}

/** Refuses a split that leaves no row to train on, or none to test on when a test part was asked for (testRows not null). */
function requireRows(source: string, split: string, rows: number, trainRows: number, testRows: number | null): void {
  const empty = trainRows === 0 ? 'training' : testRows === 0 ? 'test' : null;
  if (empty) throw new DataError(`${source}: ${rows.toLocaleString('en-US')} rows are too few for ${split}: its ${empty} part is empty`);
}

/** The configured data; verify: check a dataset's files against their checksums first. */
export function prepareData(config: TrainConfig, device: Device, verify = false): PreparedData {
  const { data, arch } = config;
  if (data.kind === 'binary' && config.shuffleBuffer > 0) {
    if (data.split === 'random') throw new UsageError('--shuffle-buffer streams the dataset: use --split kaggle, day or parts');
    const manifest = readManifest(data.path);
    if (verify) verifyChecksums(data.path, manifest);
    const { trainEnd, testStart, testEnd } = splitBoundaries(manifest, data.split);
    requireRows(data.path, `--split ${data.split}`, manifest.rows, trainEnd, testEnd - testStart);
    const source = new StreamingSource(data.path, manifest, 0, trainEnd, config.batchSize, config.shuffleBuffer, config.seed, device.lane('loader'));
    const test = readRowRange(data.path, manifest, testStart, testEnd);
    return { source, test, tableRows: manifest.cardinalities, denseFeatures: manifest.denseNames.length };
  }
  if (data.kind === 'random') {
    const source = new RandomSource(arch.tableRows, arch.bottomMlp[0], config.batchSize, config.numBatches, config.seed);
    return { source, test: null, tableRows: arch.tableRows, denseFeatures: arch.bottomMlp[0] };
  }
  const { train, test } = loadSplits(config, verify);
  const limit = config.numBatches > 0 ? config.numBatches : Infinity;
  return { source: new DatasetSource(train, config.batchSize, config.shuffle, config.seed, limit), test, tableRows: train.tableRows, denseFeatures: train.denseFeatures };
}
