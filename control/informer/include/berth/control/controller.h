// ControllerRunner: the worker loop every controller runs (client-go's
// processNextWorkItem): N threads take keys from a WorkQueue and call the
// controller's sync function; a failed sync is logged and retried with the
// queue's per-key back-off, a successful one clears that back-off. A key is
// marked Done whatever happened.
//
// Plus the object key helpers shared with Informer: "namespace/name", or
// "name" for cluster-scoped objects.
//
// Owns its worker threads; borrows the queue, which must outlive it.
// Start and Stop belong to the owner (not thread-safe against each other);
// `sync` is called concurrently from the workers, never twice at once for
// the same key. Errors: Start returns EINVAL for fewer than one worker and
// EBUSY when already running. Errors of `sync` are logged, never returned.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "control.pb.h"

#include "berth/common/error.h"
#include "berth/control/informer.h"
#include "berth/control/work_queue.h"

namespace berth::control {

class ControllerRunner {
 public:
  using SyncFunc = std::function<Status(const std::string& key)>;

  // `name` labels the log lines ("replicaset").
  ControllerRunner(std::string name, WorkQueue& queue, SyncFunc sync);
  // Stops the workers.
  ~ControllerRunner();
  ControllerRunner(const ControllerRunner&) = delete;
  ControllerRunner& operator=(const ControllerRunner&) = delete;

  Status Start(int workers);
  // Lets each worker finish its current sync and joins them, within about
  // 100 ms of the last sync returning. The queue is left as it is (shut it
  // down separately to drop its keys); Start may be called again.
  void Stop();

  const std::string& name() const { return name_; }

 private:
  void Work();

  const std::string name_;
  WorkQueue& queue_;
  const SyncFunc sync_;
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> workers_;
};

// "namespace/name", or "name" for an object without a namespace
// (cluster-scoped kinds).
// What a controller does first in Start(): wait for its informers' first
// list, since acting on a partial cache creates or deletes what already
// exists. ETIMEDOUT naming `controller` and the informer's kind.
Status WaitForInformers(std::initializer_list<const Informer*> informers,
                        std::string_view controller,
                        std::chrono::milliseconds timeout = std::chrono::seconds(60));

// client-go's resync period: `resync` runs every `period` on one thread,
// from Start() until Stop() (or destruction), so level-triggered
// controllers also converge on what no event announced.
class PeriodicResync {
 public:
  PeriodicResync() = default;
  ~PeriodicResync() { Stop(); }
  PeriodicResync(const PeriodicResync&) = delete;
  PeriodicResync& operator=(const PeriodicResync&) = delete;

  void Start(std::chrono::milliseconds period, std::function<void()> resync);
  void Stop();

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

std::string KeyOf(const v1::Object& object);
// The reverse: {"namespace", "name"}, or {"", "name"} for a key without '/'.
std::pair<std::string, std::string> SplitKey(std::string_view key);

}  // namespace berth::control
