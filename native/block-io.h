// Block I/O for the SSD tier: a file read and written in aligned blocks, O_DIRECT where the file system allows it
// (the page cache is not the cache: the host tier is), many requests in flight. Two engines issue them: a pool of
// threads each doing positional reads and writes, and io_uring where the kernel allows it and liburing was found at
// build time. bench/ssd-io.ts measures both; the tier takes the faster.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

enum class IoEngine { Threads, Uring };

// Whether io_uring can be used here: built with liburing, and the kernel gives a ring.
bool uringAvailable();

struct BlockFile {
  int fd = -1;
  bool direct = false;
  std::shared_ptr<const std::string> path;  // for errors (shared: requests in flight keep it)
};

// One positional transfer: consecutive blocks of one file at consecutive buffer places (coalesced).
struct Request {
  int fd;
  std::shared_ptr<const std::string> path;
  int64_t block;  // the first block, for errors
  int64_t offset;
  int64_t bytes;
  uint8_t* at;
};

// Requests grow by whole blocks up to this size (1 MiB).
constexpr int64_t kMaxRequestBytes = int64_t{1} << 20;

// Opens (creating when asked) a file for block I/O; direct when O_DIRECT was accepted. Throws with errno's text.
BlockFile openBlockFile(const std::string& path, bool create, bool tryDirect);
void closeBlockFile(BlockFile& file);
// Makes what was written durable (fdatasync). Throws with errno's text.
void syncBlockFile(const BlockFile& file);

// Appends the requests that move count blocks of file (blocks[i] at buffer + i * blockBytes), consecutive ones merged.
void appendRequests(std::vector<Request>& requests, const BlockFile& file, const int64_t* blocks, int64_t count, int64_t blockBytes, uint8_t* buffer);
// Issues the requests (of any files), at most queueDepth in flight. Throws on a short or failed transfer, naming the
// file and block.
void transferRequests(IoEngine engine, bool write, const std::vector<Request>& requests, int queueDepth);

// Reads (write == false) or writes count blocks of blockBytes at block indices blocks[i] from or into
// buffer + i * blockBytes (aligned to 4096 for O_DIRECT), at most queueDepth in flight. Throws on a short or
// failed transfer, naming the block.
void transferBlocks(const BlockFile& file, IoEngine engine, bool write, const int64_t* blocks, int64_t count, int64_t blockBytes,
                    uint8_t* buffer, int queueDepth);
