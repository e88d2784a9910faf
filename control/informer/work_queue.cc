#include "berth/control/work_queue.h"

#include <algorithm>
#include <cmath>

namespace berth::control {

WorkQueue::WorkQueue(std::chrono::milliseconds base, std::chrono::milliseconds cap)
    : base_(base), cap_(std::max(base, cap)) {}

void WorkQueue::Add(const std::string& key) {
  std::lock_guard lock(mu_);
  AddLocked(key);
}

void WorkQueue::AddLocked(const std::string& key) {
  if (shutting_down_ || !dirty_.insert(key).second) return;
  // A key being processed goes back into the queue on Done, so that two
  // workers never sync the same object at once.
  if (processing_.count(key) > 0) return;
  queue_.push_back(key);
  cv_.notify_one();
}

void WorkQueue::AddAfter(const std::string& key, std::chrono::milliseconds delay) {
  std::lock_guard lock(mu_);
  AddAfterLocked(key, delay);
}

void WorkQueue::AddAfterLocked(const std::string& key, std::chrono::milliseconds delay) {
  if (shutting_down_) return;
  if (delay <= std::chrono::milliseconds(0)) {
    AddLocked(key);
    return;
  }
  const Clock::time_point due = Clock::now() + delay;
  auto it = waiting_.find(key);
  if (it != waiting_.end() && it->second.due <= due) return;
  waiting_[key] = Waiting{due, ++seq_};
  heap_.emplace(due, seq_, key);
  // Sleeping getters recompute their wake-up time.
  cv_.notify_all();
}

std::chrono::milliseconds WorkQueue::AddRateLimited(const std::string& key) {
  std::lock_guard lock(mu_);
  const int failures = failures_[key]++;
  // ldexp keeps 2^failures finite long after an integer shift overflows.
  const double ms = static_cast<double>(base_.count()) * std::ldexp(1.0, std::min(failures, 1000));
  const auto delay = ms >= static_cast<double>(cap_.count())
                         ? cap_
                         : std::chrono::milliseconds(static_cast<int64_t>(ms));
  AddAfterLocked(key, delay);
  return delay;
}

void WorkQueue::Forget(const std::string& key) {
  std::lock_guard lock(mu_);
  failures_.erase(key);
}

int WorkQueue::NumRequeues(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

void WorkQueue::PromoteLocked(Clock::time_point now) {
  while (!heap_.empty()) {
    const auto& [due, seq, key] = heap_.top();
    auto it = waiting_.find(key);
    const bool stale = it == waiting_.end() || it->second.seq != seq;
    if (!stale && due > now) return;
    if (!stale) {
      waiting_.erase(it);
      AddLocked(key);
    }
    heap_.pop();
  }
}

std::optional<std::string> WorkQueue::Get(std::chrono::milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  std::unique_lock lock(mu_);
  while (true) {
    if (shutting_down_) return std::nullopt;
    const Clock::time_point now = Clock::now();
    PromoteLocked(now);
    if (!queue_.empty()) {
      std::string key = std::move(queue_.front());
      queue_.pop_front();
      dirty_.erase(key);
      processing_.insert(key);
      return key;
    }
    if (now >= deadline) return std::nullopt;
    Clock::time_point wake = deadline;
    if (!heap_.empty()) wake = std::min(wake, std::get<0>(heap_.top()));
    cv_.wait_until(lock, wake);
  }
}

void WorkQueue::Done(const std::string& key) {
  std::lock_guard lock(mu_);
  processing_.erase(key);
  if (dirty_.count(key) > 0 && !shutting_down_) {
    queue_.push_back(key);
    cv_.notify_one();
  }
}

void WorkQueue::ShutDown() {
  std::lock_guard lock(mu_);
  shutting_down_ = true;
  cv_.notify_all();
}

bool WorkQueue::ShuttingDown() const {
  std::lock_guard lock(mu_);
  return shutting_down_;
}

size_t WorkQueue::Len() const {
  std::lock_guard lock(mu_);
  // Due keys still in `waiting_` count once, unless Get would fold them
  // into a queued entry or hold them back for a worker's Done.
  const Clock::time_point now = Clock::now();
  size_t due = 0;
  for (const auto& [key, waiting] : waiting_) {
    if (waiting.due <= now && dirty_.count(key) == 0 && processing_.count(key) == 0) ++due;
  }
  return queue_.size() + due;
}

}  // namespace berth::control
