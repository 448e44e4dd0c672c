#include "block-io.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>
#include <vector>

#ifdef HOTLINE_URING
#include <liburing.h>
#endif

namespace {

[[noreturn]] void fail(const std::string& what, int error) { throw std::runtime_error(what + ": " + std::strerror(error)); }

// Moves one whole block, retrying short transfers (a positional read may return less than asked).
void transferOne(int fd, bool write, uint8_t* at, int64_t bytes, int64_t offset, int64_t block) {
  int64_t done = 0;
  while (done < bytes) {
    const ssize_t n = write ? pwrite(fd, at + done, static_cast<size_t>(bytes - done), offset + done)
                            : pread(fd, at + done, static_cast<size_t>(bytes - done), offset + done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(std::string(write ? "write" : "read") + " of block " + std::to_string(block), errno);
    if (n == 0) throw std::runtime_error("read of block " + std::to_string(block) + ": past the end of the file");
    done += n;
  }
}

// Consecutive blocks at consecutive buffer places, moved as one request (coalesced, up to kMaxRunBlocks).
struct Run {
  int64_t block;  // the first block
  int64_t index;  // its place in the buffer, in blocks
  int64_t blocks;
};

constexpr int64_t kMaxRunBlocks = 256;

std::vector<Run> runsOf(const int64_t* blocks, int64_t count) {
  std::vector<Run> runs;
  for (int64_t i = 0; i < count; ++i) {
    Run* last = runs.empty() ? nullptr : &runs.back();
    if (last && blocks[i] == last->block + last->blocks && last->blocks < kMaxRunBlocks) ++last->blocks;
    else runs.push_back(Run{blocks[i], i, 1});
  }
  return runs;
}

void transferThreads(const BlockFile& file, bool write, const std::vector<Run>& runs, int64_t blockBytes, uint8_t* buffer, int queueDepth) {
  const auto count = static_cast<int64_t>(runs.size());
  std::atomic<int64_t> next{0};
  std::atomic<bool> failed{false};
  std::string error;
  auto work = [&] {
    try {
      for (int64_t i; !failed && (i = next.fetch_add(1)) < count;) {
        const Run& r = runs[i];
        transferOne(file.fd, write, buffer + r.index * blockBytes, r.blocks * blockBytes, r.block * blockBytes, r.block);
      }
    } catch (const std::exception& e) {
      if (!failed.exchange(true)) error = e.what();
    }
  };
  const int threads = static_cast<int>(std::min<int64_t>(queueDepth, count));
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (failed) throw std::runtime_error(error);
}

#ifdef HOTLINE_URING
void transferUring(const BlockFile& file, bool write, const std::vector<Run>& runs, int64_t blockBytes, uint8_t* buffer, int queueDepth) {
  const auto count = static_cast<int64_t>(runs.size());
  io_uring ring;
  if (const int r = io_uring_queue_init(static_cast<unsigned>(queueDepth), &ring, 0); r < 0) fail("io_uring_queue_init", -r);
  int64_t submitted = 0, completed = 0;
  std::string error;
  try {
    while (completed < count) {
      while (submitted < count && submitted - completed < queueDepth) {
        io_uring_sqe* sqe = io_uring_get_sqe(&ring);
        if (!sqe) break;
        const Run& run = runs[submitted];
        uint8_t* at = buffer + run.index * blockBytes;
        const auto offset = static_cast<uint64_t>(run.block * blockBytes);
        const auto bytes = static_cast<unsigned>(run.blocks * blockBytes);
        if (write) io_uring_prep_write(sqe, file.fd, at, bytes, offset);
        else io_uring_prep_read(sqe, file.fd, at, bytes, offset);
        io_uring_sqe_set_data64(sqe, static_cast<uint64_t>(submitted));
        ++submitted;
      }
      if (const int r = io_uring_submit_and_wait(&ring, 1); r < 0 && r != -EINTR) fail("io_uring_submit", -r);
      io_uring_cqe* cqe;
      unsigned head, seen = 0;
      io_uring_for_each_cqe(&ring, head, cqe) {
        const Run& run = runs[io_uring_cqe_get_data64(cqe)];
        const int64_t bytes = run.blocks * blockBytes;
        // A short transfer (rare) is finished synchronously.
        if (cqe->res < 0) fail(std::string(write ? "write" : "read") + " of block " + std::to_string(run.block), -cqe->res);
        if (cqe->res < bytes)
          transferOne(file.fd, write, buffer + run.index * blockBytes + cqe->res, bytes - cqe->res, run.block * blockBytes + cqe->res, run.block);
        ++seen;
      }
      io_uring_cq_advance(&ring, seen);
      completed += seen;
    }
  } catch (...) {
    io_uring_queue_exit(&ring);
    throw;
  }
  io_uring_queue_exit(&ring);
}
#endif

}  // namespace

bool uringAvailable() {
#ifdef HOTLINE_URING
  io_uring ring;
  if (io_uring_queue_init(2, &ring, 0) < 0) return false;
  io_uring_queue_exit(&ring);
  return true;
#else
  return false;
#endif
}

BlockFile openBlockFile(const std::string& path, bool create, bool tryDirect) {
  const int flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0);
  BlockFile file;
  if (tryDirect) {
    file.fd = open(path.c_str(), flags | O_DIRECT, 0644);
    file.direct = file.fd >= 0;
    if (file.fd < 0 && errno != EINVAL) fail(path, errno);  // EINVAL: the file system refuses O_DIRECT (tmpfs)
  }
  if (file.fd < 0) file.fd = open(path.c_str(), flags, 0644);
  if (file.fd < 0) fail(path, errno);
  return file;
}

void closeBlockFile(BlockFile& file) {
  if (file.fd >= 0) close(file.fd);
  file.fd = -1;
}

void syncBlockFile(const BlockFile& file) {
  if (fdatasync(file.fd) != 0) fail("fdatasync", errno);
}

void transferBlocks(const BlockFile& file, IoEngine engine, bool write, const int64_t* blocks, int64_t count, int64_t blockBytes,
                    uint8_t* buffer, int queueDepth) {
  if (count == 0) return;
  if (queueDepth < 1) throw std::runtime_error("a queue depth of at least 1");
  const std::vector<Run> runs = runsOf(blocks, count);
#ifdef HOTLINE_URING
  if (engine == IoEngine::Uring) return transferUring(file, write, runs, blockBytes, buffer, queueDepth);
#else
  if (engine == IoEngine::Uring) throw std::runtime_error("this build has no io_uring (liburing-dev was not installed)");
#endif
  transferThreads(file, write, runs, blockBytes, buffer, queueDepth);
}
