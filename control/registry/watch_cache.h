// The apiserver's watch cache, in small: one store watch per kind, each
// event decoded once and handed, as a shared immutable object, to every
// watch it concerns. Pod watches that select one node (fieldSelector
// spec.nodeName=<node>, what every agent keeps open) are indexed by node,
// so an event reaches its node's watch and the unfiltered ones, not
// thousands of others. A bounded history of recent events lets a watch
// start from a revision a little in the past (after its list); one older
// than the history gets ESTALE and the caller watches the store directly.
//
// Thread-safe: one dispatch thread per cache; Subscribe, Next and Cancel
// from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "control.pb.h"

#include "berth/control/store.h"

namespace berth::control::detail {

struct DecodedEvent {
  bool deleted = false;
  std::shared_ptr<const v1::Object> object;  // null when `error` is set
  // An object the store holds but that cannot be decoded: every watch that
  // reaches it fails (as a watch reading the store would) and lists again.
  std::shared_ptr<const Error> error;
  int64_t mod_revision = 0;
  int64_t create_revision = 0;
};

class WatchCache;

class CacheSubscription {
 public:
  // Waits up to `timeout`; an empty vector then. ECANCELED after Cancel().
  Result<std::vector<DecodedEvent>> Next(std::chrono::milliseconds timeout);
  void Cancel();
  // As WatchStream::SetReadyCallback: called (on the cache's dispatch
  // thread, so it must only hand the work on) whenever events wait.
  void SetReadyCallback(std::function<void()> ready);
  ~CacheSubscription();

 private:
  friend class WatchCache;
  std::weak_ptr<WatchCache> cache_;
  std::string ns_;    // "" : every namespace
  std::string node_;  // "" : not indexed by node
  int64_t after_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<DecodedEvent> queue_;
  bool cancelled_ = false;
  std::shared_ptr<const std::function<void()>> ready_;
};

class WatchCache : public std::enable_shared_from_this<WatchCache> {
 public:
  using Decoder = std::function<Result<v1::Object>(const KeyValue&)>;
  // `prefix`: every key of the kind; `history`: events kept for late starters.
  WatchCache(Store& store, std::string prefix, Decoder decode, size_t history);
  ~WatchCache();
  // Opens the store watch at the store's current revision and starts the
  // dispatch thread.
  Status Start();
  void Stop();

  // Events after revision `after` for objects in `ns` ("" : all) and, when
  // `node` is set, only pods bound to that node. ESTALE when `after` is
  // older than the history reaches.
  Result<std::shared_ptr<CacheSubscription>> Subscribe(int64_t after, std::string ns,
                                                       std::string node);

 private:
  friend class CacheSubscription;
  void Run();
  void Dispatch(const DecodedEvent& e);  // holds mu_
  void Remove(CacheSubscription* sub);

  Store& store_;
  const std::string prefix_;
  const Decoder decode_;
  const size_t history_limit_;
  std::unique_ptr<WatchStream> stream_;
  std::thread thread_;
  std::atomic<bool> stop_{false};

  std::mutex mu_;  // guards everything below
  std::deque<DecodedEvent> history_;
  int64_t covered_from_ = 0;  // history holds every event after this revision
  std::set<std::shared_ptr<CacheSubscription>> everyone_;
  std::map<std::string, std::set<std::shared_ptr<CacheSubscription>>> by_node_;
};

}  // namespace berth::control::detail
