// PodExpectations: client-go's ControllerExpectations for the pod-creating
// controllers (Job, DaemonSet). After a sync creates or deletes N pods, the
// controller expects to see N informer events before it trusts its pod
// cache again; until then a sync only updates status. Without this a second
// sync racing the informer would create the same pods twice.
//
// Owns only counters keyed by the owner's "namespace/name". Thread-safe.
// No errors: an expectation older than the timeout is given up on (a watch
// event was lost or a create failed after all), as client-go does.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace berth::control {

class PodExpectations {
 public:
  explicit PodExpectations(std::chrono::steady_clock::duration timeout = std::chrono::minutes(5))
      : timeout_(timeout) {}

  // True when every expected add and delete of `key` was observed (or
  // timed out): the cache can be acted on.
  bool Satisfied(const std::string& key);
  // Replaces the expectations of `key`.
  void Expect(const std::string& key, int64_t adds, int64_t deletes);
  // Lowers the expectation by one after a create (or delete) failed: the
  // event it waits for will never come.
  void CreationFailed(const std::string& key);
  void DeletionFailed(const std::string& key);
  // One pod of `key` appeared (added) or started terminating (!added).
  void Observed(const std::string& key, bool added);
  void Forget(const std::string& key);

 private:
  struct Counts {
    int64_t adds = 0;
    int64_t deletes = 0;
    std::chrono::steady_clock::time_point set;
  };
  const std::chrono::steady_clock::duration timeout_;
  std::mutex mu_;
  std::map<std::string, Counts> counts_;
};

}  // namespace berth::control
