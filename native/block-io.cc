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

// Moves bytes at offset, retrying short transfers (a positional read may return less than asked).
void transferOne(const Request& r, bool write, int64_t skip) {
  int64_t done = skip;
  while (done < r.bytes) {
    const ssize_t n = write ? pwrite(r.fd, r.at + done, static_cast<size_t>(r.bytes - done), r.offset + done)
                            : pread(r.fd, r.at + done, static_cast<size_t>(r.bytes - done), r.offset + done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(*r.path + ": " + (write ? "write" : "read") + " of block " + std::to_string(r.block), errno);
    if (n == 0) throw std::runtime_error(*r.path + ": read of block " + std::to_string(r.block) + ": past the end of the file");
    done += n;
  }
}

void transferThreads(bool write, const std::vector<Request>& requests, int queueDepth) {
  const auto count = static_cast<int64_t>(requests.size());
  std::atomic<int64_t> next{0};
  std::atomic<bool> failed{false};
  std::string error;
  auto work = [&] {
    try {
      for (int64_t i; !failed && (i = next.fetch_add(1)) < count;) transferOne(requests[i], write, 0);
    } catch (const std::exception& e) {
      if (!failed.exchange(true)) error = e.what();
    }
  };
  const int threads = static_cast<int>(std::min<int64_t>(queueDepth, count));
  std::vector<std::thread> pool;
  try {
    for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  } catch (...) {  // no thread to be had: the started ones stop, and are joined before the error goes on
    failed = true;
    for (auto& t : pool) t.join();
    throw;
  }
  work();
  for (auto& t : pool) t.join();
  if (failed) throw std::runtime_error(error);
}

#ifdef HOTLINE_URING
void transferUring(bool write, const std::vector<Request>& requests, int queueDepth) {
  const auto count = static_cast<int64_t>(requests.size());
  io_uring ring;
  if (const int r = io_uring_queue_init(static_cast<unsigned>(queueDepth), &ring, 0); r < 0) fail("io_uring_queue_init", -r);
  int64_t submitted = 0, completed = 0;
  try {
    while (completed < count) {
      while (submitted < count && submitted - completed < queueDepth) {
        io_uring_sqe* sqe = io_uring_get_sqe(&ring);
        if (!sqe) break;
        const Request& r = requests[submitted];
        const auto bytes = static_cast<unsigned>(r.bytes);
        if (write) io_uring_prep_write(sqe, r.fd, r.at, bytes, static_cast<uint64_t>(r.offset));
        else io_uring_prep_read(sqe, r.fd, r.at, bytes, static_cast<uint64_t>(r.offset));
        io_uring_sqe_set_data64(sqe, static_cast<uint64_t>(submitted));
        ++submitted;
      }
      if (const int r = io_uring_submit_and_wait(&ring, 1); r < 0 && r != -EINTR) fail("io_uring_submit", -r);
      io_uring_cqe* cqe;
      unsigned head, seen = 0;
      io_uring_for_each_cqe(&ring, head, cqe) {
        const Request& r = requests[io_uring_cqe_get_data64(cqe)];
        if (cqe->res < 0) fail(*r.path + ": " + (write ? "write" : "read") + " of block " + std::to_string(r.block), -cqe->res);
        if (cqe->res < r.bytes) transferOne(r, write, cqe->res);  // a short transfer (rare) is finished synchronously
        ++seen;
      }
      io_uring_cq_advance(&ring, seen);
      completed += seen;
    }
  } catch (...) {
    // Requests still in flight would land in their buffers after the error is reported: wait for them first.
    for (int64_t left = submitted - completed; left > 0; --left) {
      io_uring_cqe* cqe;
      if (io_uring_wait_cqe(&ring, &cqe) < 0) break;
      io_uring_cqe_seen(&ring, cqe);
    }
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
  file.path = std::make_shared<const std::string>(path);
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

void appendRequests(std::vector<Request>& requests, const BlockFile& file, const int64_t* blocks, int64_t count, int64_t blockBytes, uint8_t* buffer) {
  for (int64_t i = 0; i < count; ++i) {
    Request* last = requests.empty() ? nullptr : &requests.back();
    const bool extends = last && last->fd == file.fd && last->offset + last->bytes == blocks[i] * blockBytes &&
                         last->at + last->bytes == buffer + i * blockBytes && last->bytes < kMaxRequestBytes;
    if (extends) last->bytes += blockBytes;
    else requests.push_back(Request{file.fd, file.path, blocks[i], blocks[i] * blockBytes, blockBytes, buffer + i * blockBytes});
  }
}

void transferRequests(IoEngine engine, bool write, const std::vector<Request>& requests, int queueDepth) {
  if (requests.empty()) return;
  if (queueDepth < 1) throw std::runtime_error("a queue depth of at least 1");
#ifdef HOTLINE_URING
  if (engine == IoEngine::Uring) return transferUring(write, requests, queueDepth);
#else
  if (engine == IoEngine::Uring) throw std::runtime_error("this build has no io_uring (liburing-dev was not installed)");
#endif
  transferThreads(write, requests, queueDepth);
}

void transferBlocks(const BlockFile& file, IoEngine engine, bool write, const int64_t* blocks, int64_t count, int64_t blockBytes,
                    uint8_t* buffer, int queueDepth) {
  std::vector<Request> requests;
  appendRequests(requests, file, blocks, count, blockBytes, buffer);
  transferRequests(engine, write, requests, queueDepth);
}
