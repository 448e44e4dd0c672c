// The raw-format parsers refuse what would enter a dataset wrong: numbers that are not finite (every format,
// and --raw-data-file), label values the format does not document, and schema files that are malformed key by
// key. Each case asserts the message; each class also goes through the real CLI (exit 2, one line).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { firstLineOf } from '../../src/data/chunks.ts';
import { readCriteoTsv } from '../../src/data/criteo-tsv.ts';
import { parseCriteoLines } from '../../src/data/formats/criteo-tsv.ts';
import { DataError } from '../../src/util/errors.ts';
import { type BadLinePolicy, decimalAt } from '../../src/data/formats/lines.ts';
import { rowFormat } from '../../src/data/formats/row-formats.ts';
import { readSchemaFile } from '../../src/data/formats/schema-file.ts';
import { describeOsError, isOsError } from '../../src/util/os-error.ts';

const bin = new URL('../../bin/hotline.mjs', import.meta.url).pathname;
const dir = () => mkdtempSync(join(tmpdir(), 'hotline-rel-formats-'));
const digits400 = '1234567890'.repeat(40);
const shown = (text: string) => (text.length > 40 ? `${text.slice(0, 40)}...` : text);

/** Runs the CLI; a refusal is exit code 2 and exactly one line `hotline: MESSAGE`. */
function refused(args: string[], message: string): void {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
  assert.equal(r.stderr, `hotline: ${message}\n`);
  assert.equal(r.status, 2);
}

/** Parses `text` as a new file `name` of `format` (one chunk, the format's own line parser). */
async function parsed(format: string, name: string, text: string, onBadLine: BadLinePolicy = 'error', path = join(dir(), name)) {
  writeFileSync(path, text);
  const bytes = readFileSync(path), skipped: Record<string, number> = {};
  const parse = (await rowFormat(format, path)).forFile(path, await firstLineOf(path));
  const rows = parse({ index: 0, bytes, firstLine: 1, lines: text.split('\n').length - 1, atFileStart: true, atFileEnd: true }, { file: path, firstLine: 1, labelled: true, onBadLine, skipped });
  return { path, rows, skipped };
}

/** Asserts that parsing fails with `${path}:LINE: MESSAGE`. */
async function parseFails(format: string, name: string, text: string, lineAndMessage: string): Promise<void> {
  const path = join(dir(), name);
  await assert.rejects(parsed(format, name, text, 'error', path), (e: Error) => e instanceof DataError && e.message === `${path}:${lineAndMessage}`);
}

const criteoLine = (label: string, ints: string[]) => [label, ...ints, ...Array.from({ length: 26 }, (_, t) => (t * 77).toString(16))].join('\t');
const ints = (at: number, value: string) => Array.from({ length: 13 }, (_, j) => (j === at ? value : String(j)));
const criteoText = (...lines: string[]) => lines.map((l) => `${l}\n`).join('');
const parseCriteo = (text: string, onBadLine: BadLinePolicy = 'error', skipped: Record<string, number> = {}) =>
  parseCriteoLines(Buffer.from(text), { file: 'train.txt', firstLine: 1, labelled: true, onBadLine, skipped }, true, true);

const avazuHeader = 'id,click,hour,C1,banner_pos,site_id,site_domain,site_category,app_id,app_domain,app_category,device_id,device_ip,device_model,device_type,device_conn_type,C14,C15,C16,C17,C18,C19,C20,C21';
const avazuRow = (click: string) => ['1', click, '14102100', ...Array.from({ length: 21 }, (_, k) => `v${k}`)].join(',');
const avazuText = (...clicks: string[]) => `${avazuHeader}\n${clicks.map((c) => `${avazuRow(c)}\n`).join('')}`;

function schemaFile(schema: unknown): string {
  const path = join(dir(), 'schema.json');
  writeFileSync(path, typeof schema === 'string' ? schema : JSON.stringify(schema));
  return path;
}
const prices = { delimiter: ',', header: true, label: { column: 'clicked', positive: ['yes'], negative: ['no'] }, dense: ['price'], categorical: ['shop'] };

describe('numbers that are not finite never enter a dataset', () => {
  it('decimalAt gives the text\'s value, +-Infinity only beyond a double\'s range, NaN for what is no number', () => {
    const at = (text: string) => decimalAt(Buffer.from(text), 0, text.length);
    assert.equal(at('1e400'), Infinity);
    assert.equal(at('-1e400'), -Infinity);
    assert.equal(at(digits400), Infinity);
    assert.equal(at('0e400'), 0);
    assert.equal(at('0.0001e310'), 1e306);
    assert.equal(at(`1${'0'.repeat(400)}e-399`), 10);
    assert.equal(at('-2.5e3'), -2500);
    for (const bad of ['', '-', 'e5', '1e', '1.5x', '1e400x']) assert.ok(Number.isNaN(at(bad)), bad);
  });

  it('Criteo: an integer beyond a double\'s range (either sign) is a bad line; 300 digits still parse', () => {
    for (const value of [digits400, `-${digits400}`]) {
      assert.throws(() => parseCriteo(criteoText(criteoLine('0', ints(0, '1')), criteoLine('1', ints(2, value)))),
        (e: Error) => e instanceof DataError && e.message === `train.txt:2: field I3: the integer '${shown(value)}' is too large (not a finite number)`);
    }
    const skipped: Record<string, number> = {};
    const rows = parseCriteo(criteoText(criteoLine('1', ints(2, digits400)), criteoLine('0', ints(0, '9'.repeat(300)))), 'skip', skipped);
    assert.deepEqual(skipped, { 'not finite': 1 });
    assert.equal(rows.rows, 1);
    assert.ok(Math.abs(rows.dense[0] - Math.log1p(1e300)) < 1e-3);
  });

  it('--raw-data-file and profile read a Criteo TSV through the same checks, plain or .gz', () => {
    const d = dir(), plain = join(d, 'day.tsv'), gz = join(d, 'day.tsv.gz'), bad = join(d, 'bad.tsv'), corrupt = join(d, 'corrupt.tsv.gz');
    const text = criteoText(...Array.from({ length: 50 }, (_, i) => criteoLine(String(i % 2), ints(i % 13, String(i)))));
    writeFileSync(plain, text);
    writeFileSync(gz, gzipSync(text));
    assert.deepEqual(readCriteoTsv(gz), readCriteoTsv(plain));
    writeFileSync(bad, criteoText(criteoLine('0', ints(0, '1')), criteoLine('1', ints(6, digits400))));
    const message = `${bad}:2: field I7: the integer '${shown(digits400)}' is too large (not a finite number)`;
    assert.throws(() => readCriteoTsv(bad), (e: Error) => e instanceof DataError && e.message === message);
    writeFileSync(corrupt, gzipSync(text).subarray(0, 100));
    assert.throws(() => readCriteoTsv(corrupt), (e: Error) => e instanceof DataError && e.message === `${corrupt}: gzip data is corrupt (unexpected end of file)`);
    refused(['train', '--data-generation', 'dataset', '--raw-data-file', bad, '--num-batches', '1', '--run-dir', ''], message);
    refused(['profile', bad, '--budget', '1MiB', '--out', join(d, 'profile')], message);
    const r = spawnSync(process.execPath, [bin, 'profile', gz, '--budget', '1MiB', '--out', join(d, 'profile-gz')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /wrote .*profile\.json/);
  });

  it('a schema dense column: 1e400 and -1e400 are refused (no Inf, no silent 0); skip counts them', async () => {
    const schema = schemaFile(prices), text = (v: string) => `shop,price,clicked\ns1,3.5,yes\ns2,${v},no\n`;
    await parseFails(`schema:${schema}`, 'prices.csv', text('1e400'), `3: field price: '1e400' is not a finite number`);
    await parseFails(`schema:${schema}`, 'prices.csv', text('-1e400'), `3: field price: '-1e400' is not a finite number`);
    const { rows, skipped } = await parsed(`schema:${schema}`, 'prices.csv', text('1e400'), 'skip');
    assert.equal(rows.rows, 1);
    assert.deepEqual(skipped, { 'not finite': 1 });
    const d = dir(), path = join(d, 'prices.csv');
    writeFileSync(path, text('1e400'));
    refused(['preprocess', path, '--out', join(d, 'ds'), '--format', `schema:${schema}`], `${path}:3: field price: '1e400' is not a finite number`);
  });

  it('libFM: a label or a value beyond range, and a feature index past 2^53, are refused', async () => {
    await parseFails('libfm', 'a.libfm', '1 3:1 7:1\n1e400 3:1 7:1\n', `2: field label: '1e400' is not a finite number`);
    await parseFails('libfm', 'a.libfm', '1 3:1 7:1\n0 3:1 7:1e400\n', `2: field F2: '1e400' is not a finite number`);
    await parseFails('libfm', 'a.libfm', `1 3:1 7:1\n0 3:1 ${digits400}:1\n`, `2: field F2: the feature index '${shown(digits400)}' is too large (above 2^53 - 1)`);
  });

  it('a numeric label (MovieLens, schema atLeast) and a Unix timestamp beyond range are refused', async () => {
    await parseFails('movielens', 'ratings.csv', 'userId,movieId,rating,timestamp\n1,2,4.5,9\n1,3,1e400,9\n', `3: field rating: '1e400' is not a finite number`);
    const atLeast = schemaFile({ ...prices, label: { column: 'clicked', atLeast: 1 } });
    await parseFails(`schema:${atLeast}`, 'p.csv', 'shop,price,clicked\ns1,1,-1e400\n', `2: field clicked: '-1e400' is not a finite number`);
    await parseFails('taobao', 'ub.csv', `1,2,3,pv,1511658000\n1,2,3,buy,${digits400}\n`, `2: field timestamp: '${shown(digits400)}' is not a finite number`);
    await parseFails('taobao', 'ub.csv', '1,2,3,pv,10000000000000\n', `1: field timestamp: expected a Unix timestamp, got '10000000000000'`);
  });
});

describe('labels other than the documented values are refused', () => {
  it('Avazu click is 0 or 1: x, 2 and an empty click are bad lines (skip counts them)', async () => {
    for (const click of ['x', '2', '']) await parseFails('avazu', 'train.csv', avazuText('1', click), `3: field click: expected 0 or 1, got '${click}'`);
    const { rows, skipped } = await parsed('avazu', 'train.csv', avazuText('1', 'x', '0', ''), 'skip');
    assert.deepEqual(Array.from(rows.labels), [1, 0]);
    assert.deepEqual(skipped, { label: 2 });
  });

  it('a file relabelled yes/no is refused by the CLI, not trained as 0% positive', () => {
    const d = dir(), path = join(d, 'train.csv');
    writeFileSync(path, avazuText('yes', 'no'));
    refused(['preprocess', path, '--out', join(d, 'ds'), '--format', 'avazu'], `${path}:2: field click: expected 0 or 1, got 'yes'`);
  });

  it('Taobao behavior is pv (negative) or cart, fav, buy (positive)', async () => {
    const { rows } = await parsed('taobao', 'ub.csv', '1,2,3,pv,1511658000\n1,2,3,cart,1511658000\n1,2,3,fav,1511658000\n1,2,3,buy,1511658000\n');
    assert.deepEqual(Array.from(rows.labels), [0, 1, 1, 1]);
    await parseFails('taobao', 'ub.csv', '1,2,3,pv,1511658000\n1,2,3,view,1511658000\n', `2: field behavior: expected pv, cart, fav or buy, got 'view'`);
  });

  it('Criteo labels are 0 or 1', () => {
    assert.throws(() => parseCriteo(criteoText(criteoLine('2', ints(0, '1')))), (e: Error) => e.message === `train.txt:1: field label: expected 0 or 1, got '2'`);
  });

  it('libFM labels are -1, 0 or 1 as numbers', async () => {
    const { rows } = await parsed('libfm', 'a.libfm', '1.0 3:1\n-1 3:1\n0 3:1\n1 3:1\n');
    assert.deepEqual(Array.from(rows.labels), [1, 0, 0, 1]);
    for (const y of ['2', '0.5', '-2']) await parseFails('libfm', 'a.libfm', `1 3:1\n${y} 3:1\n`, `2: field label: expected -1, 0 or 1, got '${y}'`);
    await parseFails('libfm', 'a.libfm', 'yes 3:1\n', `1: field label: expected a number, got 'yes'`);
  });

  it('MovieLens ratings are numbers on the 0..5 scale', async () => {
    const { rows } = await parsed('movielens', 'ratings.csv', 'userId,movieId,rating,timestamp\n1,2,0.5,9\n1,3,4,9\n1,4,5.0,9\n');
    assert.deepEqual(Array.from(rows.labels), [0, 1, 1]);
    for (const r of ['7', '-1']) await parseFails('movielens', 'ratings.csv', `userId,movieId,rating,timestamp\n1,2,${r},9\n`, `2: field rating: expected a rating from 0 to 5, got '${r}'`);
    await parseFails('movielens', 'ml.inter', 'user_id:token\titem_id:token\trating:float\ttimestamp:float\n1\t2\tfive\t9\n', `2: field rating:float: expected a number, got 'five'`);
  });

  it('a schema label is one of its positive or negative values, or (atLeast) any finite number', async () => {
    const schema = schemaFile(prices);
    await parseFails(`schema:${schema}`, 'p.csv', 'shop,price,clicked\ns1,1,yes\ns1,1,maybe\n', `3: field clicked: expected no or yes, got 'maybe'`);
    const atLeast = schemaFile({ ...prices, label: { column: 'clicked', atLeast: 4 } });
    const { rows } = await parsed(`schema:${atLeast}`, 'p.csv', 'shop,price,clicked\ns1,1,100\ns1,1,-3\ns1,1,4\n');
    assert.deepEqual(Array.from(rows.labels), [1, 0, 1]);
  });
});

describe('schema files are checked key by key', () => {
  const label = prices.label;
  const cases: [string, unknown, string][] = [
    ['unknown top-level key', { ...prices, labels: label }, '"labels": unknown key (allowed: delimiter, header, columns, label, dense, categorical, time, multiHot)'],
    ['unknown label key', { ...prices, label: { ...label, postive: ['y'] } }, '"label.postive": unknown key (allowed: column, positive, negative, atLeast)'],
    ['unknown time key', { ...prices, time: { column: 'ts', kind: 'unix', zone: 'UTC' } }, '"time.zone": unknown key (allowed: column, kind)'],
    ['positive as a string', { ...prices, label: { ...label, positive: 'yes' } }, '"label.positive": must be a non-empty list of strings (the label values that are positive), got "yes"'],
    ['negative missing', { ...prices, label: { column: 'clicked', positive: ['yes'] } }, '"label.negative": must be a non-empty list of strings (the label values that are negative), got nothing'],
    ['negative not strings', { ...prices, label: { ...label, negative: [0] } }, '"label.negative": must be a non-empty list of strings (the label values that are negative), got [0]'],
    ['a value in both lists', { ...prices, label: { ...label, negative: ['no', 'yes'] } }, '"label.negative": "yes" is also positive, got ["no","yes"]'],
    ['atLeast not a number', { ...prices, label: { column: 'clicked', atLeast: '4' } }, '"label.atLeast": must be a finite number, got "4"'],
    ['atLeast 1e400', '{"delimiter": ",", "header": true, "label": {"column": "r", "atLeast": 1e400}, "dense": [], "categorical": ["shop"]}', '"label.atLeast": must be a finite number, got Infinity'],
    ['positive and atLeast', { ...prices, label: { ...label, atLeast: 1 } }, '"label": give "positive" and "negative", or "atLeast", not both, got {"column":"clicked","positive":["yes"],"negative":["no"],"at...'],
    ['label neither', { ...prices, label: { column: 'clicked' } }, '"label": must give "positive" and "negative" (lists of values) or "atLeast" (a number), got {"column":"clicked"}'],
    ['label column missing', { ...prices, label: { positive: ['1'], negative: ['0'] } }, '"label.column": must be a column name (a non-empty string), got nothing'],
    ['delimiter two characters', { ...prices, delimiter: ',,' }, '"delimiter": must be one ASCII character other than a line end, got ",,"'],
    ['delimiter not ASCII', { ...prices, delimiter: '§' }, '"delimiter": must be one ASCII character other than a line end, got "§"'],
    ['header a string', { ...prices, header: 'yes' }, '"header": must be true or false, got "yes"'],
    ['columns missing without a header', { ...prices, header: false }, '"columns": must be a non-empty list of strings (the names of the file\'s columns, required when "header" is false), got nothing'],
    ['columns with a header', { ...prices, columns: ['a'] }, '"columns": only with "header": false (a header names the columns), got ["a"]'],
    ['dense not a list', { ...prices, dense: 'price' }, '"dense": must be a list of strings (column names), got "price"'],
    ['categorical duplicate', { ...prices, categorical: ['shop', 'shop'] }, '"categorical": lists "shop" twice, got ["shop","shop"]'],
    ['a column dense and categorical', { ...prices, categorical: ['shop', 'price'] }, '"categorical": "price" is also a dense column, got ["shop","price"]'],
    ['label column also dense', { ...prices, dense: ['price', 'clicked'] }, '"label.column": "clicked" is also a dense column (a label is no feature), got "clicked"'],
    ['label column also categorical', { ...prices, categorical: ['shop', 'clicked'] }, '"label.column": "clicked" is also a categorical column (a label is no feature), got "clicked"'],
    ['label column also the time column', { ...prices, time: { column: 'clicked', kind: 'unix' } }, '"label.column": "clicked" is also a time column (a label is no feature), got "clicked"'],
    ['time kind', { ...prices, time: { column: 'ts', kind: 'iso8601' } }, '"time.kind": must be "yymmddhh" or "unix", got "iso8601"'],
    ['time column', { ...prices, time: { kind: 'unix' } }, '"time.column": must be a column name (a non-empty string), got nothing'],
    ['multiHot of a non-categorical column', { ...prices, multiHot: { price: '|' } }, '"multiHot": "price" is not one of the categorical columns, got {"price":"|"}'],
    ['multiHot separator = delimiter', { ...prices, multiHot: { shop: ',' } }, '"multiHot.shop": the separator must differ from the delimiter, got ","'],
    ['multiHot separator too long', { ...prices, multiHot: { shop: '||' } }, '"multiHot.shop": must be one ASCII character other than a line end, got "||"'],
    ['not an object', '[1, 2]', 'a schema is a JSON object, got [1,2]'],
  ];
  for (const [name, schema, message] of cases) {
    it(name, () => {
      const path = schemaFile(schema);
      assert.throws(() => readSchemaFile(path), (e: Error) => e instanceof DataError && e.message === `${path}: ${message}`);
    });
  }

  it('a valid schema reads back as written', () => {
    const schema = { delimiter: '\t', header: false, columns: ['g', 'shop', 'ts', 'price', 'clicked'], label, dense: ['price'], categorical: ['shop', 'g'], time: { column: 'ts', kind: 'yymmddhh' }, multiHot: { g: '|' } };
    assert.deepEqual(JSON.parse(JSON.stringify(readSchemaFile(schemaFile(schema)))), schema);
    const withBom = schemaFile(schema);
    writeFileSync(withBom, `\uFEFF${readFileSync(withBom, 'utf8')}`);
    assert.deepEqual(JSON.parse(JSON.stringify(readSchemaFile(withBom))), schema);
  });

  it('a schema file that is missing, a directory or not JSON: one line naming it (also through the CLI)', () => {
    const d = dir(), missing = join(d, 'missing.json'), folder = join(d, 'folder.json'), broken = join(d, 'broken.json');
    mkdirSync(folder);
    writeFileSync(broken, '{"delimiter": ",",');
    const fails = (path: string, message: string) => assert.throws(() => readSchemaFile(path), (e: Error) => isOsError(e) && describeOsError(e) === message);
    fails(missing, `cannot open ${missing}: no such file or directory (ENOENT)`);
    fails(folder, `cannot read ${folder}: illegal operation on a directory (EISDIR)`);
    assert.throws(() => readSchemaFile(broken), (e: Error) => e instanceof DataError && e.message.startsWith(`${broken}: not valid JSON (`) && !e.message.includes('\n'));
    const data = join(d, 'p.csv');
    writeFileSync(data, 'shop,price,clicked\ns1,1,yes\n');
    refused(['preprocess', data, '--out', join(d, 'ds'), '--format', `schema:${missing}`], `cannot open ${missing}: no such file or directory (ENOENT)`);
    const bad = schemaFile({ ...prices, label: { ...label, positive: 'yes' } });
    refused(['preprocess', data, '--out', join(d, 'ds'), '--format', `schema:${bad}`], `${bad}: "label.positive": must be a non-empty list of strings (the label values that are positive), got "yes"`);
  });
});
