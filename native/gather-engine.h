// Hotline's gather engine: one background thread with a FIFO of jobs (gather the non-popular rows of a
// micro-batch, write back their updates, refetch what a later update made stale). It plays the role of the
// paper's accelerator while the compute threads work on the popular micro-batch.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <unordered_map>

struct JobResult {
  int64_t startNs;
  int64_t endNs;
  int64_t count;  // job-specific: bags refetched
};

class GatherEngine {
 public:
  GatherEngine();
  ~GatherEngine();
  // Queues work (which returns its count) and returns the job's id.
  uint64_t submit(std::function<int64_t()> work);
  // Blocks until the job has run; returns when it ran.
  JobResult wait(uint64_t id);

 private:
  void loop();
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::pair<uint64_t, std::function<int64_t()>>> queue_;
  std::unordered_map<uint64_t, JobResult> done_;
  uint64_t nextId_ = 1;
  bool stop_ = false;
  std::thread thread_;
};

GatherEngine& gatherEngine();
int64_t monotonicNs();
