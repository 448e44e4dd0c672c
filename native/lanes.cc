#include "lanes.h"

#include <chrono>
#include <memory>
#include <stdexcept>
#include <vector>

namespace {

// A job id is (lane index << kSequenceBits) | sequence number: unique across lanes and exact as a JS number.
constexpr int kSequenceBits = 44;
constexpr uint32_t kMaxLanes = 1u << (53 - kSequenceBits);
constexpr uint64_t kSequenceMask = (uint64_t{1} << kSequenceBits) - 1;

struct Registry {
  std::mutex mutex;
  std::vector<std::unique_ptr<Lane>> lanes;  // by index; a Lane never moves
  std::unordered_map<std::string, uint32_t> byOwner;
};

uint32_t laneOfJob(uint64_t job) { return static_cast<uint32_t>(job >> kSequenceBits); }

Registry& registry() {
  static Registry r;
  return r;
}

}  // namespace

int64_t monotonicNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

Lane::Lane(uint32_t index, std::string owner) : index_(index), owner_(std::move(owner)), thread_([this] { loop(); }) {}

Lane::~Lane() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

uint64_t Lane::submit(std::function<int64_t()> work) {
  uint64_t sequence;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (submitted_ == kSequenceMask) throw std::runtime_error("lane '" + owner_ + "' ran out of job ids");
    sequence = ++submitted_;
    queue_.push_back(std::move(work));
  }
  changed_.notify_all();
  return (uint64_t{index_} << kSequenceBits) | sequence;
}

JobResult Lane::wait(uint64_t job) {
  const uint64_t sequence = job & kSequenceMask;
  std::unique_lock<std::mutex> lock(mutex_);
  if (laneOfJob(job) != index_ || sequence == 0 || sequence > submitted_)
    throw std::runtime_error("lane '" + owner_ + "' has no job " + std::to_string(job));
  changed_.wait(lock, [&] { return finished_ >= sequence; });
  const auto it = done_.find(sequence);
  if (it == done_.end())
    throw std::runtime_error("job " + std::to_string(job) + " of lane '" + owner_ + "' was already waited for");
  const JobResult result = it->second;
  done_.erase(it);
  return result;
}

void Lane::loop() {
  for (;;) {
    std::function<int64_t()> work;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;
      work = std::move(queue_.front());
      queue_.pop_front();
    }
    const int64_t start = monotonicNs();
    int64_t count = 0;
    std::string error;
    try {
      count = work();
    } catch (const std::exception& e) {
      error = e.what();
    }
    const int64_t end = monotonicNs();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++finished_;
      done_[finished_] = JobResult{start, end, count, std::move(error)};
    }
    changed_.notify_all();
  }
}

uint32_t laneOpen(const std::string& owner) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  const auto found = r.byOwner.find(owner);
  if (found != r.byOwner.end()) return found->second;
  if (r.lanes.size() == kMaxLanes) throw std::runtime_error("too many lanes (" + std::to_string(kMaxLanes) + ")");
  const auto index = static_cast<uint32_t>(r.lanes.size());
  r.lanes.push_back(std::make_unique<Lane>(index, owner));
  r.byOwner.emplace(owner, index);
  return index;
}

Lane& laneAt(uint32_t index) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  if (index >= r.lanes.size()) throw std::runtime_error("no lane " + std::to_string(index));
  return *r.lanes[index];
}
