// The API objects in the store, with Kubernetes' apiserver semantics: the
// storage behind berth.v1.Control, used in-process by the scheduler and the
// controllers. One key per object (/registry/<plural>/[<namespace>/]<name>,
// the payload message serialized), resourceVersion = the store revision of
// its last change.
//
// Create sets uid, creationTimestamp, generation and defaults, validates,
// runs admission and writes only if the name is free. Update compares the
// resourceVersion it was given (a stale one is a conflict), keeps status
// unless it is a status update (and the reverse), bumps generation when
// anything but metadata and status changed. Delete is graceful for pods
// bound to a node, waits for finalizers, and marks foreground/orphan
// propagation for the garbage collector. Watch turns store events into
// ADDED/MODIFIED/DELETED for the objects a selector matches. Secrets are
// sealed (AES-GCM) before they reach the store and opened on the way out.
//
// Thread-safe. Errors (errno, message as kubectl words it): ENOENT not
// found, EEXIST already exists, ESTALE conflict, EINVAL invalid (field
// path and rule), EACCES forbidden (admission, terminating namespace,
// quota), ERANGE a watch from a compacted revision, EIO store failures.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "control.pb.h"

#include "berth/common/error.h"
#include "berth/control/store.h"

namespace berth::api {
struct KindInfo;
}  // namespace berth::api

namespace berth::control {

class SecretBox;
class Registry;
namespace detail {
class WatchCache;
}

struct ObjectKey {
  std::string kind;  // "Pod", or any name FindKind accepts
  std::string namespace_;
  std::string name;
};

struct ListOptions {
  std::string kind;
  std::string namespace_;  // ignored for cluster-scoped kinds
  bool all_namespaces = false;
  std::string label_selector;
  std::string field_selector;
  int64_t limit = 0;
  std::string continue_token;
};

struct ListResult {
  std::vector<v1::Object> items;
  int64_t revision = 0;
  std::string continue_token;
  int64_t remaining = 0;
};

struct UpdateOptions {
  bool status = false;  // the status subresource
  // Spec and status in one write (a binding: nodeName and PodScheduled
  // together, one disk sync instead of two).
  bool with_status = false;
  bool dry_run = false;
};

struct DeleteOptions {
  std::optional<int64_t> grace_period_seconds;
  std::string propagation = "Background";  // Foreground, Orphan
  std::string precondition_uid;
  bool dry_run = false;
};

struct ApplyResult {
  v1::Object object;
  std::string result;  // created, configured, unchanged
};

struct WatchOptions {
  std::string kind;
  std::string namespace_;
  bool all_namespaces = false;
  std::string label_selector;
  std::string field_selector;
  // 0: the current objects as ADDED events first, then changes; otherwise
  // changes after this revision.
  int64_t after_revision = 0;
};

struct ObjectEvent {
  enum class Type { kAdded, kModified, kDeleted };
  Type type = Type::kAdded;
  v1::Object object;
  int64_t revision = 0;
};

class ObjectWatch {
 public:
  virtual ~ObjectWatch() = default;
  // Up to `timeout` for events; empty after the timeout; ECANCELED once
  // cancelled.
  virtual Result<std::vector<ObjectEvent>> Next(std::chrono::milliseconds timeout) = 0;
  virtual void Cancel() = 0;
  // The revision the watch has reached (for bookmarks).
  virtual int64_t Revision() const = 0;
  // As WatchStream::SetReadyCallback: `ready` runs whenever events (or the
  // end) wait, on the thread that queued them, and must only hand the work
  // on; Next(0) then reads them.
  virtual void SetReadyCallback(std::function<void()> ready) = 0;
};

// A check on objects about to be created or updated (quota, limit ranges,
// service address allocation). It may change the object; an error refuses
// the write (EACCES "forbidden: ..."). Admit returns a guard held until the
// write is done, so that a check and the write it allowed are atomic.
class Admission {
 public:
  virtual ~Admission() = default;
  using Guard = std::shared_ptr<void>;
  virtual Result<Guard> Admit(v1::Object& object, const v1::Object* old, Registry& registry) = 0;
  // After a successful delete (to release what Admit allocated).
  virtual void Deleted(const v1::Object& /*object*/) {}
};

struct RegistryOptions {
  // Required to store Secrets; without it they are refused.
  const SecretBox* secrets = nullptr;
  // Events each kind's watch cache keeps for watches that start a little
  // in the past; 0: no cache, every watch reads the store itself.
  size_t watch_cache_events = 10000;
  std::function<std::chrono::system_clock::time_point()> now = [] {
    return std::chrono::system_clock::now();
  };
};

class Registry {
 public:
  Registry(Store& store, RegistryOptions options);
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  void AddAdmission(std::unique_ptr<Admission> admission);

  // Creates the "default" namespace (and others given) when missing.
  Status Bootstrap(const std::vector<std::string>& namespaces = {"default"});

  Result<v1::Object> Create(v1::Object object, bool dry_run = false);
  Result<v1::Object> Get(const ObjectKey& key);
  Result<ListResult> List(const ListOptions& options);
  Result<v1::Object> Update(v1::Object object, const UpdateOptions& options = {});
  // Reads, calls `mutate` and writes, retrying on conflicts (the way a
  // controller updates): `mutate` returns false to skip the write.
  Result<v1::Object> Modify(const ObjectKey& key, const std::function<bool(v1::Object&)>& mutate,
                            const UpdateOptions& options = {});
  Result<ApplyResult> Apply(const nlohmann::json& manifest, const std::string& default_namespace,
                            bool dry_run = false);
  // Returns the object as deleted, or as marked for deletion when it waits
  // for a grace period or finalizers.
  Result<v1::Object> Delete(const ObjectKey& key, const DeleteOptions& options = {});
  Result<std::unique_ptr<ObjectWatch>> Watch(const WatchOptions& options);

  int64_t Revision() const;
  std::chrono::system_clock::time_point Now() const { return options_.now(); }

 private:
  // Where an object lives: its kind, namespace ("" cluster-scoped), name
  // and store key.
  struct Resolved {
    const api::KindInfo* kind = nullptr;
    std::string ns;
    std::string name;
    std::string key;
  };
  Result<Resolved> Resolve(const ObjectKey& key) const;
  Result<v1::Object> Decode(const Resolved& where, const KeyValue& kv) const;
  Result<std::string> Encode(const std::string& store_key, const v1::Object& object) const;
  Result<std::vector<Admission::Guard>> Admit(v1::Object& object, const v1::Object* old);
  Result<v1::Object> Write(const std::string& store_key, v1::Object object, int64_t expect_mod,
                           bool dry_run);
  Result<v1::Object> Remove(const std::string& store_key, const v1::Object& object,
                            int64_t expect_mod, bool dry_run);
  Status CheckNamespace(const v1::Object& object);

  // The kind's shared watch cache, started on first use; null when off.
  std::shared_ptr<detail::WatchCache> CacheFor(const api::KindInfo& kind);

  friend class ObjectWatchImpl;
  Store& store_;
  RegistryOptions options_;
  std::vector<std::unique_ptr<Admission>> admissions_;
  std::mutex caches_mu_;
  std::map<std::string, std::shared_ptr<detail::WatchCache>> caches_;  // by kind
};

// The object's store key; "" for an object without kind or name.
std::string StoreKeyOf(const v1::Object& object);
// Kubernetes' field-selector fields for a kind and the object's values.
std::vector<std::string> SelectableFields(std::string_view kind);
std::string FieldValue(const v1::Object& object, std::string_view field);
// A random RFC 4122 version-4 uuid.
std::string NewUid();

}  // namespace berth::control
