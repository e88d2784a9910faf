// WorkQueue: the queue of object keys between an informer's handlers and a
// controller's workers, with client-go's workqueue semantics.
//
//  - A key is queued at most once however often it is added before a
//    worker takes it (dirty set).
//  - A key is handed to one worker at a time: added again while being
//    processed, it is queued once more when that worker calls Done.
//  - AddAfter delays a key; delayed keys wait in a min-heap (one entry per
//    key, the earliest time wins) that Get moves into the queue once due,
//    so no timer thread is needed: a blocked Get sleeps until the earlier of
//    its timeout and the first due time. A due key nobody has taken yet is
//    counted by Len.
//  - AddRateLimited delays a key by base * 2^(failures) capped at `cap`,
//    counting failures per key until Forget.
//  - ShutDown refuses further adds and wakes every Get, which from then on
//    returns nullopt at once; queued keys are dropped, not drained.
//
// Owns only keys (strings). Thread-safe: every method may be called from
// any thread. No errors: adds after ShutDown are ignored.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace berth::control {

class WorkQueue {
 public:
  using Clock = std::chrono::steady_clock;

  // Rate-limited retries wait base, 2*base, 4*base, ... up to cap.
  explicit WorkQueue(std::chrono::milliseconds base = std::chrono::milliseconds(5),
                     std::chrono::milliseconds cap = std::chrono::seconds(1000));
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  void Add(const std::string& key);
  // A delay <= 0 adds at once.
  void AddAfter(const std::string& key, std::chrono::milliseconds delay);
  // Adds after the key's next back-off delay and returns that delay.
  std::chrono::milliseconds AddRateLimited(const std::string& key);
  // Clears the key's failure count (after a successful sync).
  void Forget(const std::string& key);
  // Rate-limited adds since the last Forget.
  int NumRequeues(const std::string& key) const;

  // The next key, marked as being processed; nullopt after `timeout` or
  // once the queue is shut down. Every key returned needs a Done.
  std::optional<std::string> Get(std::chrono::milliseconds timeout);
  void Done(const std::string& key);

  void ShutDown();
  bool ShuttingDown() const;
  // Keys ready to be handed out (delayed keys once due; not those being
  // processed).
  size_t Len() const;

 private:
  // Callers hold mu_.
  void AddLocked(const std::string& key);
  void AddAfterLocked(const std::string& key, std::chrono::milliseconds delay);
  // Moves due delayed keys into the queue and drops stale heap entries.
  void PromoteLocked(Clock::time_point now);

  const std::chrono::milliseconds base_;
  const std::chrono::milliseconds cap_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  std::set<std::string> dirty_;       // queued or to be re-queued on Done
  std::set<std::string> processing_;  // handed out, no Done yet
  // Delayed keys: the due time per key, and a heap of (due, seq, key)
  // whose entries no longer matching `waiting_` (an earlier AddAfter
  // replaced them) are skipped.
  struct Waiting {
    Clock::time_point due;
    uint64_t seq = 0;
  };
  std::map<std::string, Waiting> waiting_;
  using Delayed = std::tuple<Clock::time_point, uint64_t, std::string>;
  std::priority_queue<Delayed, std::vector<Delayed>, std::greater<>> heap_;
  uint64_t seq_ = 0;
  std::map<std::string, int> failures_;
  bool shutting_down_ = false;
};

}  // namespace berth::control
