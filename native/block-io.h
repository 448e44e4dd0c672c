// Block I/O for the SSD tier: a file read and written in aligned blocks, O_DIRECT where the file system allows it
// (the page cache is not the cache: the host tier is), many requests in flight. Two engines issue them: a pool of
// threads each doing positional reads and writes, and io_uring where the kernel allows it and liburing was found at
// build time. bench/ssd-io.ts measures both; the tier takes the faster.
#pragma once
#include <cstdint>
#include <string>

enum class IoEngine { Threads, Uring };

// Whether io_uring can be used here: built with liburing, and the kernel gives a ring.
bool uringAvailable();

struct BlockFile {
  int fd = -1;
  bool direct = false;
};

// Opens (creating when asked) a file for block I/O; direct when O_DIRECT was accepted. Throws with errno's text.
BlockFile openBlockFile(const std::string& path, bool create, bool tryDirect);
void closeBlockFile(BlockFile& file);
// Makes what was written durable (fdatasync). Throws with errno's text.
void syncBlockFile(const BlockFile& file);

// Reads (write == false) or writes count blocks of blockBytes at block indices blocks[i] from or into
// buffer + i * blockBytes (aligned to 4096 for O_DIRECT), at most queueDepth in flight. Throws on a short or
// failed transfer, naming the block.
void transferBlocks(const BlockFile& file, IoEngine engine, bool write, const int64_t* blocks, int64_t count, int64_t blockBytes,
                    uint8_t* buffer, int queueDepth);
