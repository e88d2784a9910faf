// A local copy of one kind's objects kept in step with berth-control, as
// client-go's reflector keeps an informer's store: list (in pages), then
// watch from the list's revision; a dropped stream resumes from the last
// revision seen, and a compacted one ("too old") lists again, replacing the
// copy so that deletions missed meanwhile are noticed. The agent runs one
// per kind it follows (its pods, services, endpoints, nodes).
//
// Thread-safe: Run() blocks on its own thread and calls the handler there;
// Stop() may come from any thread.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "berth/api/control_client.h"

namespace berth::nodeagent {

struct ReflectorOptions {
  std::string kind;
  std::string field_selector;  // e.g. spec.nodeName=<node>
};

// Objects by "namespace/name" ("/name" for cluster-scoped kinds).
using ObjectMap = std::map<std::string, v1::Object>;

class Reflector {
 public:
  // `on_change(objects, event)`: after a (re)list `event` is null and
  // `objects` is the whole new copy; after a watch event it is the event,
  // already applied to `objects`.
  using Handler = std::function<void(const ObjectMap& objects, const v1::WatchEvent* event)>;

  Reflector(api::ControlClient& client, ReflectorOptions options, Handler on_change);

  // Lists and watches until Stop(). Transport errors are retried with
  // back-off (logged); returns only after Stop() or on EACCES, which
  // retrying cannot fix.
  Status Run();
  void Stop();
  // A list has completed at least once.
  bool Synced() const { return synced_.load(); }

  static std::string KeyOf(const v1::Object& object);

 private:
  Status List();
  // Watches from revision_ until the stream ends; ERANGE clears revision_.
  Status Watch();

  api::ControlClient& client_;
  const ReflectorOptions options_;
  const Handler on_change_;
  ObjectMap objects_;     // Run's thread only
  std::string revision_;  // "" : list next
  std::atomic<bool> stop_{false};
  std::atomic<bool> synced_{false};
  std::mutex mu_;                       // guards watch_
  api::ControlWatch* watch_ = nullptr;  // the open stream, for Stop()
};

}  // namespace berth::nodeagent
