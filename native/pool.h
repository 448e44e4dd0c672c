// A persistent pool of worker threads. The calling thread takes part as worker 0, so a pool of
// n threads starts n-1 workers. Workers spin briefly after a job (steps issue kernels back to back),
// then sleep on a futex so an idle trainer costs no CPU.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

class Pool {
 public:
  explicit Pool(int threads);
  ~Pool();
  int size() const { return threads_; }
  // Calls fn(worker) once on each of the pool's threads and returns when all are done.
  void run(const std::function<void(int)>& fn);
  // Splits [0, n) into one contiguous range per thread (fewer when n is small).
  void parallelFor(int64_t n, int64_t minChunk, const std::function<void(int64_t, int64_t)>& fn);

 private:
  void workerLoop(int worker);
  int threads_;
  std::vector<std::thread> workers_;
  const std::function<void(int)>* job_ = nullptr;
  std::atomic<uint32_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
};

Pool& pool();
void setPoolThreads(int threads);
