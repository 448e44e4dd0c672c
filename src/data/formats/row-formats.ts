/**
 * The raw formats `hotline preprocess` reads, by name: Criteo TSV (native parser), Avazu, Taobao, MovieLens and any
 * CSV/TSV through a JSON schema (byte-level delimited parser), libFM. Each gives its feature names and, per input
 * file, a chunk parser bound to that file's first line (its header, or its first record).
 */
import { type Chunk, firstLineOf } from '../chunks.ts';
import { parseChunk } from '../fast-path.ts';
import { criteoCategorical, criteoDense } from './criteo-tsv.ts';
import { DataError } from '../../util/errors.ts';
import { bindSchema, categoricalNames, delimitedLineParser } from './delimited-lines.ts';
import { type DelimitedSchema, presetSchemas } from './delimited.ts';
import { libfmFields, libfmLineParser } from './libfm-lines.ts';
import { type ParseContext, parseLines, type ParsedRows } from './lines.ts';
import { readSchemaFile } from './schema-file.ts';

const rowFormatNames = ['criteo', 'avazu', 'taobao', 'movielens', 'libfm', 'schema:FILE.json'];

export type ChunkParser = (chunk: Chunk, ctx: ParseContext) => ParsedRows;

export interface RowFormat {
  name: string;
  denseNames: string[];
  categoricalNames: string[];
  /** Which categorical features hold lists of values (absent: none). */
  multiHot?: boolean[];
  /** For archives: the entry holding the rows. */
  zipEntry?: string;
  forFile(file: string, firstLine: string): ChunkParser;
}

const numbered = (prefix: string, n: number) => Array.from({ length: n }, (_, k) => `${prefix}${k + 1}`);

function delimitedFormat(name: string, schema: DelimitedSchema, zipEntry?: string): RowFormat {
  const names = categoricalNames(schema);
  const shape = { dense: schema.dense.length, categorical: names.length, multiHot: names.map((n) => n in (schema.multiHot ?? {})) };
  return {
    name, denseNames: schema.dense, categoricalNames: names, multiHot: shape.multiHot, zipEntry,
    forFile: (file, firstLine) => {
      const line = delimitedLineParser(bindSchema(schema, file, firstLine));
      return (c, ctx) => parseLines(c.bytes, ctx, c.atFileStart, c.atFileEnd, shape, line, schema.header);
    },
  };
}

/** The format `name` for inputs starting with `firstInput` (libFM counts its fields on that file's first line). */
export async function rowFormat(name: string, firstInput: string): Promise<RowFormat> {
  if (name === 'criteo') {
    return {
      name, denseNames: numbered('I', criteoDense), categoricalNames: numbered('C', criteoCategorical),
      forFile: () => (c, ctx) => parseChunk(c.bytes, c.lines, ctx, c.atFileStart, c.atFileEnd),
    };
  }
  if (name === 'libfm') {
    const fields = libfmFields(await firstLineOf(firstInput)), line = libfmLineParser(fields);
    return {
      name, denseNames: [], categoricalNames: numbered('F', fields),
      forFile: () => (c, ctx) => parseLines(c.bytes, ctx, c.atFileStart, c.atFileEnd, { dense: 0, categorical: fields }, line),
    };
  }
  if (name === 'movielens') {
    if (firstInput.endsWith('.zip')) return delimitedFormat(name, presetSchemas['movielens-csv'], 'ratings.csv');
    return delimitedFormat(name, presetSchemas[firstInput.endsWith('.inter') ? 'movielens-inter' : 'movielens-csv']);
  }
  if (name.startsWith('schema:')) return delimitedFormat(name, readSchemaFile(name.slice('schema:'.length)));
  const preset = presetSchemas[name];
  if (!preset) throw new DataError(`unknown --format '${name}' (one of ${rowFormatNames.join(', ')})`);
  return delimitedFormat(name, preset);
}
