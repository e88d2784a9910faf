// In-memory fan-out of committed events to open watches. The store
// publishes each transaction's events while holding its write lock, so
// every watch sees events in revision order with none skipped. Thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>

#include "berth/control/store.h"

namespace berth::control {

class WatchHub : public std::enable_shared_from_this<WatchHub> {
 public:
  struct Watcher {
    std::string key, end;
    std::mutex mu;
    std::condition_variable cv;
    std::deque<Event> queue;
    bool cancelled = false;
    std::shared_ptr<const std::function<void()>> ready;  // see SetReadyCallback
    bool Matches(const std::string& k) const {
      if (end.empty()) return k == key;
      return k >= key && ((end.size() == 1 && end[0] == '\0') || k < end);
    }
  };

  ~WatchHub();
  // Registers a watch whose queue starts with `backlog` (events the caller
  // read from history, already filtered). The hub must be owned by a
  // shared_ptr; streams may outlive it (they then report ECANCELED).
  std::unique_ptr<WatchStream> Add(std::string key, std::string end, std::deque<Event> backlog);
  void Publish(const std::vector<Event>& events);
  void Remove(const std::shared_ptr<Watcher>& w);

 private:
  std::mutex mu_;
  std::list<std::shared_ptr<Watcher>> watchers_;
};

}  // namespace berth::control
