#include "pool.h"

#include <algorithm>
#include <cstdlib>
#include <memory>

namespace {
// How long an idle worker spins before it sleeps on the futex: long enough to catch the next kernel of a step
// (they come back to back), short enough to leave the core to a lane's thread. HOTLINE_POOL_SPIN overrides it
// (bench/threads.ts measures the choice).
const int kSpinIterations = [] {
  const char* asked = std::getenv("HOTLINE_POOL_SPIN");
  return asked != nullptr ? std::max(0, std::atoi(asked)) : 1 << 16;
}();
std::unique_ptr<Pool> globalPool;

inline void cpuRelax() {
#if defined(__x86_64__)
  __builtin_ia32_pause();
#endif
}
}  // namespace

Pool::Pool(int threads) : threads_(std::max(1, threads)) {
  for (int w = 1; w < threads_; ++w) workers_.emplace_back([this, w] { workerLoop(w); });
}

Pool::~Pool() {
  stop_.store(true);
  generation_.fetch_add(1);
  generation_.notify_all();
  for (auto& t : workers_) t.join();
}

void Pool::workerLoop(int worker) {
  uint32_t seen = 0;
  for (;;) {
    int spins = 0;
    while (generation_.load(std::memory_order_acquire) == seen) {
      if (++spins < kSpinIterations) {
        cpuRelax();
      } else {
        generation_.wait(seen, std::memory_order_acquire);
      }
    }
    seen = generation_.load(std::memory_order_acquire);
    if (stop_.load()) return;
    (*job_)(worker);
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

void Pool::run(const std::function<void(int)>& fn) {
  if (threads_ == 1) {
    fn(0);
    return;
  }
  job_ = &fn;
  pending_.store(threads_ - 1, std::memory_order_release);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  generation_.notify_all();
  fn(0);
  while (pending_.load(std::memory_order_acquire) != 0) cpuRelax();
}

void Pool::parallelFor(int64_t n, int64_t minChunk, const std::function<void(int64_t, int64_t)>& fn) {
  const int64_t parts = std::max<int64_t>(1, std::min<int64_t>(threads_, n / std::max<int64_t>(1, minChunk)));
  if (parts == 1) {
    fn(0, n);
    return;
  }
  run([&](int worker) {
    if (worker >= parts) return;
    fn(n * worker / parts, n * (worker + 1) / parts);
  });
}

Pool& pool() {
  if (!globalPool) globalPool = std::make_unique<Pool>(1);
  return *globalPool;
}

void setPoolThreads(int threads) {
  if (globalPool && globalPool->size() == threads) return;
  globalPool.reset();
  globalPool = std::make_unique<Pool>(threads);
}
