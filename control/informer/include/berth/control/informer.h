// Informer: a watch-fed, in-memory cache of one kind across all namespaces
// (client-go's SharedIndexInformer), optionally narrowed by a field and a
// label selector, the read path of every controller.
//
// Owns one thread between Start() and Stop(). The thread opens
// Registry::Watch from revision 0, so the registry first reports every
// matching object as ADDED; the informer replaces its cache with that list
// and then applies the watch's events one by one. When the watch fails for
// any reason (ERANGE once its revision was compacted, a store error) the
// thread lists again the same way, backing off 100 ms doubling to 5 s
// between failing attempts. A re-list is turned into synthetic events:
// DELETED (with the last cached object) for what vanished meanwhile, ADDED
// for what is new and MODIFIED for everything else, unchanged or not, so a
// re-list also works as a resync. Stop() followed by Start() keeps the cache
// and re-lists the same way.
//
// Handlers run on the informer thread, in event order, after the cache
// reflects the event and without any lock held (they may read the
// informer); a slow handler delays the events after it. Handlers see the
// event and the object cached before it (nullptr when there was none).
// The event type is the cache's view: ADDED when nothing was cached under
// the key, MODIFIED otherwise; a DELETED event for an object never cached
// changes nothing and reaches no handler.
//
// Cache keys are "namespace/name", or "name" for cluster-scoped kinds (see
// KeyOf in controller.h).
//
// Thread-safety: the read methods (Get, List, ByIndex, HasSynced,
// WaitForSync, Revision) may be called from any thread at any time.
// AddHandler and AddIndex must be called while the informer is stopped
// (before Start); Start and Stop belong to the owner, not to handlers.
// Errors: Start returns EINVAL for an unknown kind or a selector the
// registry would refuse and EBUSY when already running; failures of the
// watch itself are logged and retried, never returned.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "control.pb.h"

#include "berth/common/error.h"
#include "berth/control/registry.h"
#include "berth/control/selector.h"

namespace berth::control {

class Informer {
 public:
  using Handler = std::function<void(const ObjectEvent& event, const v1::Object* old)>;
  // The index values of an object (none, one or several).
  using IndexFunc = std::function<std::vector<std::string>(const v1::Object&)>;

  // `kind` is any name api::FindKind accepts; the selectors use the
  // syntax of Registry::Watch ("spec.nodeName=n1", "app=web").
  Informer(Registry& registry, std::string kind, std::string field_selector = "",
           std::string label_selector = "");
  // Stops the thread.
  ~Informer();
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  // Before Start().
  void AddHandler(Handler handler);
  // Before Start(); objects already cached (from an earlier run) are
  // indexed at once. A second index with the same name replaces the first.
  void AddIndex(std::string name, IndexFunc index_fn);

  Status Start();
  // Returns within about 100 ms (the watch is polled that often); the cache
  // stays readable.
  void Stop();

  std::optional<v1::Object> Get(std::string_view ns, std::string_view name) const;
  // Every cached object of namespace `ns` ("" every namespace; ignored for
  // cluster-scoped kinds), ordered by key.
  std::vector<v1::Object> List(std::string_view ns = "") const;
  std::vector<v1::Object> List(std::string_view ns, const LabelSelector& selector) const;
  // The cached objects whose index `name` yields `value`, ordered by key;
  // empty for an unknown index.
  std::vector<v1::Object> ByIndex(std::string_view name, std::string_view value) const;

  // True once the first list is in the cache (and from then on).
  bool HasSynced() const;
  bool WaitForSync(std::chrono::milliseconds timeout) const;
  // The revision of the last list or event applied; 0 before the first.
  int64_t Revision() const;
  const std::string& kind() const { return kind_; }

 private:
  struct Index {
    IndexFunc fn;
    std::map<std::string, std::set<std::string>, std::less<>> keys;  // value -> keys
  };
  struct Change {
    ObjectEvent event;
    std::optional<v1::Object> old;
  };

  void Run();
  // One listed watch until it fails (the error) or Stop (Ok). Sets
  // `listed` once the list is applied, which resets the back-off.
  Status ListAndWatch(bool& listed);
  // Replaces the cache with `objects` (a fresh list at `revision`).
  std::vector<Change> ApplyList(std::vector<v1::Object> objects, int64_t revision);
  // One watch event; nullopt when it changes nothing.
  std::optional<Change> ApplyEvent(ObjectEvent event);
  void Dispatch(const std::vector<Change>& changes) const;
  bool SleepUnlessStopped(std::chrono::milliseconds delay);
  bool Stopping() const;

  std::string KeyFor(std::string_view ns, std::string_view name) const;
  // Callers hold mu_ exclusively.
  void IndexLocked(const std::string& key, const v1::Object& object);
  void UnindexLocked(const std::string& key, const v1::Object& object);

  Registry& registry_;
  const std::string kind_;
  const std::string field_selector_;
  const std::string label_selector_;
  const bool namespaced_;  // from the kind; an unknown kind fails Start

  std::vector<Handler> handlers_;  // fixed while running

  mutable std::shared_mutex mu_;  // guards cache_ and indexes_
  std::map<std::string, v1::Object, std::less<>> cache_;
  std::map<std::string, Index, std::less<>> indexes_;

  std::atomic<int64_t> revision_{0};
  mutable std::mutex sync_mu_;
  mutable std::condition_variable sync_cv_;
  bool synced_ = false;  // guarded by sync_mu_

  mutable std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;  // guarded by stop_mu_
  std::thread thread_;
};

// Index functions for the common lookups.
// Pods by spec.nodeName (unscheduled pods are not indexed).
std::vector<std::string> IndexByNodeName(const v1::Object& object);
// Objects by the uid of their controlling owner (ownerReferences entry with
// controller: true).
std::vector<std::string> IndexByControllerUid(const v1::Object& object);

// Stops several informers at once: each Stop() waits up to one watch poll,
// so stopping them one after another adds those waits up.
void StopAll(const std::vector<Informer*>& informers);

}  // namespace berth::control
