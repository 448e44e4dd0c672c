// Block I/O for the SSD tier: every engine writes and reads back the same bytes, O_DIRECT where the file system
// takes it, and each failure (past the end, a misaligned buffer, a missing folder) is an error naming the file.
import assert from 'node:assert/strict';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { alignedBuffer, BlockFile, blockBytes, ioEngines, mapFile } from '../src/io/block-file.ts';
import { loadAddon } from '../src/kernels/native.ts';
import { Rng } from '../src/util/rng.ts';

const skip = loadAddon() instanceof Error ? 'the native addon is not built' : false;

describe('block files', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'hotline-blocks-'));
  const floatsPerBlock = blockBytes / 4;

  for (const writer of ioEngines()) {
    for (const reader of ioEngines()) {
      it(`blocks written by ${writer} read back by ${reader}, scattered, at several queue depths`, () => {
        const rng = new Rng(3, writer.length + reader.length), file = BlockFile.open(join(dir, `${writer}-${reader}.bin`), { create: true, direct: true });
        const blocks = Int32Array.from(rng.permutation(300).subarray(0, 120)), data = alignedBuffer(blocks.length);
        for (let i = 0; i < data.length; i++) data[i] = rng.next();
        file.transfer(true, blocks, data, writer, 16);
        assert.ok(statSync(file.path).size >= (Math.max(...blocks) + 1) * blockBytes);
        for (const depth of [1, 7, 64]) {
          const back = alignedBuffer(blocks.length), order = Int32Array.from(blocks).reverse();
          file.transfer(false, order, back, reader, depth);
          order.forEach((b, i) => {
            const j = blocks.indexOf(b);
            assert.deepEqual(back.subarray(i * floatsPerBlock, (i + 1) * floatsPerBlock), data.subarray(j * floatsPerBlock, (j + 1) * floatsPerBlock));
          });
        }
        file.close();
      });
    }
  }

  it('says whether O_DIRECT was taken, and names the file in every failure', () => {
    const file = BlockFile.open(join(dir, 'errors.bin'), { create: true, direct: true }), one = alignedBuffer(1);
    file.transfer(true, Int32Array.of(0), one, 'threads', 1);
    for (const engine of ioEngines()) {
      assert.throws(() => file.transfer(false, Int32Array.of(5), alignedBuffer(1), engine, 1), (e: Error) => e.message.startsWith(`${file.path}: read of block 5`));
    }
    if (file.direct) {
      const misaligned = new Float32Array(floatsPerBlock + 1).subarray(1);
      assert.throws(() => file.transfer(false, Int32Array.of(0), misaligned, 'threads', 1), /4096-aligned buffer/);
    }
    assert.throws(() => file.transfer(false, Int32Array.of(0, 1), one, 'threads', 1), /smaller than the blocks/);
    file.close();
    assert.throws(() => BlockFile.open(join(dir, 'missing', 'x.bin'), { create: true, direct: true }), /missing\/x\.bin: No such file or directory/);
    const buffered = BlockFile.open(join(dir, 'buffered.bin'), { create: true, direct: false });
    assert.equal(buffered.direct, false);
    buffered.close();
  });
});

describe('mapped files', { skip }, () => {
  it('map a block file shared: its floats as written, and writes through the map read back by block I/O', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'hotline-map-')), 'rows.bin'), file = BlockFile.open(path, { create: true, direct: true });
    const data = alignedBuffer(2);
    data.forEach((_, i) => (data[i] = i * 0.5));
    file.transfer(true, Int32Array.of(0, 1), data, 'threads', 2);
    const mapped = mapFile(path);
    assert.deepEqual(mapped, data);
    mapped[1500] = -7;
    const back = alignedBuffer(1);
    file.transfer(false, Int32Array.of(1), back, 'threads', 1);
    assert.equal(back[1500 - 1024], -7);
    file.close();
    assert.throws(() => mapFile(join(path, 'nope')), /nope: Not a directory/);
  });
});
