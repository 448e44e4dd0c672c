#include "gather-engine.h"

#include <chrono>
#include <memory>

int64_t monotonicNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

GatherEngine::GatherEngine() : thread_([this] { loop(); }) {}

GatherEngine::~GatherEngine() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

uint64_t GatherEngine::submit(std::function<int64_t()> work) {
  uint64_t id;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    id = nextId_++;
    queue_.emplace_back(id, std::move(work));
  }
  changed_.notify_all();
  return id;
}

JobResult GatherEngine::wait(uint64_t id) {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] { return done_.count(id) > 0; });
  const JobResult result = done_[id];
  done_.erase(id);
  return result;
}

void GatherEngine::loop() {
  for (;;) {
    std::pair<uint64_t, std::function<int64_t()>> job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    const int64_t start = monotonicNs();
    const int64_t count = job.second();
    const int64_t end = monotonicNs();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_[job.first] = JobResult{start, end, count};
    }
    changed_.notify_all();
  }
}

GatherEngine& gatherEngine() {
  static GatherEngine engine;
  return engine;
}
