// Lanes: one background thread with a FIFO of jobs per owner ('host' gathers, write-backs and refetches,
// 'loader' block reads, later an SSD tier's reads), so no job of one owner queues behind another's. Jobs of a
// lane run in submission order; lanes are independent. A lane is created, with its thread, on first use of
// its name and lives until the process exits.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

struct JobResult {
  int64_t startNs;
  int64_t endNs;
  int64_t count;  // job-specific: bags refetched, bytes read
  std::string error;  // what the job threw (empty: it ran through); wait() hands it to the caller
};

class Lane {
 public:
  Lane(uint32_t index, std::string owner);
  ~Lane();
  Lane(const Lane&) = delete;
  Lane& operator=(const Lane&) = delete;
  // Queues work (which returns its count) and returns the job's id, which carries the lane's index.
  uint64_t submit(std::function<int64_t()> work);
  // Blocks until the job has run and returns when it ran; throws for a job that is not this lane's or was
  // already waited for.
  JobResult wait(uint64_t job);
  const std::string& owner() const { return owner_; }

 private:
  void loop();
  const uint32_t index_;
  const std::string owner_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::function<int64_t()>> queue_;
  std::unordered_map<uint64_t, JobResult> done_;  // by sequence number, until waited for
  uint64_t submitted_ = 0;                         // sequence numbers run 1..submitted_
  uint64_t finished_ = 0;                          // FIFO: jobs 1..finished_ have run
  bool stop_ = false;
  std::thread thread_;
};

// The lane of an owner name (created on first use): its index, for laneAt.
uint32_t laneOpen(const std::string& owner);
// The lane of an index laneOpen returned; throws for any other.
Lane& laneAt(uint32_t index);
int64_t monotonicNs();
