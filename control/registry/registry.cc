#include "berth/control/registry.h"

#include <cerrno>
#include <random>

#include <google/protobuf/util/time_util.h>

#include "registry_internal.h"

#include "berth/api/kinds.h"
#include "berth/control/secret_box.h"
#include "berth/control/validation.h"

namespace berth::control {

using detail::Conflict;
using detail::NotFound;

namespace {

constexpr int kConflictRetries = 8;
constexpr int64_t kDefaultPodGraceSeconds = 30;
constexpr std::string_view kForegroundFinalizer = "foregroundDeletion";
constexpr std::string_view kOrphanFinalizer = "orphan";
// Kubernetes' namespace finalizer: the namespace controller empties the
// namespace, then removes it.
constexpr std::string_view kNamespaceFinalizer = "kubernetes";

std::mt19937_64& Rng() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return rng;
}

// generateName suffixes: Kubernetes' alphabet without vowels and
// look-alike characters.
std::string RandomSuffix() {
  static constexpr std::string_view kAlphabet = "bcdfghjklmnpqrstvwxz2456789";
  std::string out;
  for (int i = 0; i < 5; ++i) out += kAlphabet[Rng()() % kAlphabet.size()];
  return out;
}

bool HasFinalizer(const v1::ObjectMeta& meta, std::string_view name) {
  for (const auto& f : meta.finalizers()) {
    if (f == name) return true;
  }
  return false;
}

// What the server allocated and the user did not write (a Service's
// clusterIP and node ports) survives updates that leave it out, as in
// Kubernetes: an applied manifest never names them.
void CarryOverAllocated(const v1::Object& current, v1::Object& updated) {
  if (!current.has_service() || !updated.has_service()) return;
  const auto& cur = current.service().spec();
  auto* spec = updated.mutable_service()->mutable_spec();
  if (spec->type() == "ExternalName") return;
  if (spec->cluster_ip().empty() && !cur.cluster_ip().empty()) {
    spec->set_cluster_ip(cur.cluster_ip());
    if (spec->cluster_ips().empty()) *spec->mutable_cluster_ips() = cur.cluster_ips();
  }
  // Node ports only survive as long as the Service stays a NodePort one.
  if (spec->type() != "NodePort" || cur.type() != "NodePort") return;
  for (auto& port : *spec->mutable_ports()) {
    if (port.node_port() != 0) continue;
    for (const auto& old : cur.ports()) {
      const bool same_protocol = (old.protocol().empty() ? "TCP" : old.protocol()) ==
                                 (port.protocol().empty() ? "TCP" : port.protocol());
      if (old.port() == port.port() && same_protocol && old.node_port() != 0) {
        port.set_node_port(old.node_port());
      }
    }
  }
}

}  // namespace

std::string NewUid() {
  uint64_t hi = Rng()();
  uint64_t lo = Rng()();
  hi = (hi & ~0xf000ULL) | 0x4000ULL;            // version 4
  lo = (lo & ~(0xcULL << 60)) | (0x8ULL << 60);  // variant 10
  char buf[37];
  (void)std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx",
                      static_cast<unsigned>(hi >> 32), static_cast<unsigned>((hi >> 16) & 0xffff),
                      static_cast<unsigned>(hi & 0xffff), static_cast<unsigned>(lo >> 48),
                      static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return buf;
}

std::string StoreKeyOf(const v1::Object& object) {
  const api::KindInfo* kind = api::KindOf(object);
  if (kind == nullptr) return "";
  const auto& meta = api::MetaOf(object);
  if (meta.name().empty()) return "";
  const std::string ns = meta.namespace_().empty() ? "default" : meta.namespace_();
  return detail::ObjectStoreKey(*kind, ns, meta.name());
}

Registry::Registry(Store& store, RegistryOptions options)
    : store_(store), options_(std::move(options)) {}

Registry::~Registry() = default;

void Registry::AddAdmission(std::unique_ptr<Admission> admission) {
  admissions_.push_back(std::move(admission));
}

int64_t Registry::Revision() const { return store_.Revision(); }

Result<Registry::Resolved> Registry::Resolve(const ObjectKey& key) const {
  Resolved r;
  r.kind = api::FindKind(key.kind);
  if (r.kind == nullptr) {
    return Error::Invalid("the server doesn't have a resource type \"" + key.kind + "\"");
  }
  if (key.name.empty()) return Error::Invalid("resource name may not be empty");
  r.ns = r.kind->namespaced ? (key.namespace_.empty() ? "default" : key.namespace_) : "";
  r.name = key.name;
  r.key = detail::ObjectStoreKey(*r.kind, r.ns, r.name);
  return r;
}

Result<std::string> Registry::Encode(const std::string& store_key, const v1::Object& object) const {
  v1::Object copy = object;
  api::MutableMeta(copy)->clear_resource_version();
  std::string bytes;
  if (!api::Payload(copy).SerializeToString(&bytes)) {
    return Error::Invalid("cannot serialize " + api::ResourceName(object));
  }
  if (object.has_secret()) {
    if (options_.secrets == nullptr) {
      return detail::Forbidden(
          "secrets cannot be stored: berth-control runs without an "
          "encryption key (--encryption-key)");
    }
    return options_.secrets->Seal(bytes, store_key);
  }
  return bytes;
}

Result<v1::Object> Registry::Decode(const Resolved& where, const KeyValue& kv) const {
  v1::Object object;
  auto& payload = api::SetKind(object, *where.kind);
  std::string plain;
  std::string_view bytes = kv.value;
  if (where.kind->object_case == v1::Object::kSecret) {
    if (options_.secrets == nullptr) {
      return detail::Forbidden("secret " + kv.key + " is encrypted and no key is configured");
    }
    auto opened = options_.secrets->Open(kv.value, kv.key);
    if (!opened.ok()) return std::move(opened).error().Wrap("open " + kv.key);
    plain = std::move(*opened);
    bytes = plain;
  }
  if (!payload.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Error::Sys(EIO, "store: cannot decode " + kv.key);
  }
  api::MutableMeta(object)->set_resource_version(std::to_string(kv.mod_revision));
  return object;
}

Status Registry::CheckNamespace(const v1::Object& object) {
  const api::KindInfo* kind = api::KindOf(object);
  if (!kind->namespaced) return {};
  const std::string& ns = api::MetaOf(object).namespace_();
  auto got = store_.Get(detail::ObjectStoreKey(*api::FindKind("Namespace"), "", ns));
  if (!got.ok()) return got.error();
  if (!got->has_value()) return Error::Sys(ENOENT, "namespaces \"" + ns + "\" not found");
  v1::Namespace nsobj;
  if (!nsobj.ParseFromString((*got)->value))
    return Error::Sys(EIO, "store: decode namespace " + ns);
  if (nsobj.metadata().has_deletion_timestamp()) {
    return detail::Forbidden("unable to create new content in namespace " + ns +
                             " because it is being terminated");
  }
  return {};
}

Result<std::vector<Admission::Guard>> Registry::Admit(v1::Object& object, const v1::Object* old) {
  std::vector<Admission::Guard> guards;
  for (auto& admission : admissions_) {
    auto guard = admission->Admit(object, old, *this);
    if (!guard.ok()) return guard.error();
    guards.push_back(std::move(*guard));
  }
  return guards;
}

Result<v1::Object> Registry::Write(const std::string& store_key, v1::Object object,
                                   int64_t expect_mod, bool dry_run) {
  const api::KindInfo* kind = api::KindOf(object);
  auto bytes = Encode(store_key, object);
  if (!bytes.ok()) return bytes.error();
  if (dry_run) return object;
  auto txn = store_.Txn({Compare{store_key, Compare::Target::kModRevision, expect_mod}},
                        {Op{Op::Kind::kPut, store_key, std::move(*bytes)}});
  if (!txn.ok()) return txn.error();
  const std::string& name = api::MetaOf(object).name();
  if (!txn->succeeded)
    return expect_mod == 0 ? detail::AlreadyExists(*kind, name) : Conflict(*kind, name);
  api::MutableMeta(object)->set_resource_version(std::to_string(txn->revision));
  return object;
}

Result<v1::Object> Registry::Remove(const std::string& store_key, const v1::Object& object,
                                    int64_t expect_mod, bool dry_run) {
  if (dry_run) return object;
  auto txn = store_.Txn({Compare{store_key, Compare::Target::kModRevision, expect_mod}},
                        {Op{Op::Kind::kDelete, store_key, ""}});
  if (!txn.ok()) return txn.error();
  if (!txn->succeeded) return Conflict(*api::KindOf(object), api::MetaOf(object).name());
  for (auto& admission : admissions_) admission->Deleted(object);
  v1::Object out = object;
  api::MutableMeta(out)->set_resource_version(std::to_string(txn->revision));
  return out;
}

Status Registry::Bootstrap(const std::vector<std::string>& namespaces) {
  for (const auto& name : namespaces) {
    v1::Object ns;
    ns.mutable_namespace_()->mutable_metadata()->set_name(name);
    auto created = Create(std::move(ns));
    if (!created.ok() && created.error().err() != EEXIST) return created.error();
  }
  return {};
}

Result<v1::Object> Registry::Create(v1::Object object, bool dry_run) {
  const api::KindInfo* kind = api::KindOf(object);
  if (kind == nullptr) return Error::Invalid("kind: Required value");
  v1::ObjectMeta* meta = api::MutableMeta(object);
  if (!kind->namespaced) {
    meta->clear_namespace_();
  } else if (meta->namespace_().empty()) {
    meta->set_namespace_("default");
  }
  if (meta->name().empty() && !meta->generate_name().empty()) {
    meta->set_name(meta->generate_name() + RandomSuffix());
  }
  meta->set_uid(NewUid());
  *meta->mutable_creation_timestamp() = detail::ToTimestamp(Now());
  meta->set_generation(1);
  meta->clear_resource_version();
  meta->clear_deletion_timestamp();
  meta->clear_deletion_grace_period_seconds();
  ApplyDefaults(object);
  // A new pod is Pending until its node reports (the apiserver's
  // PrepareForCreate); `get` shows it so.
  if (object.has_pod() && object.pod().status().phase().empty()) {
    object.mutable_pod()->mutable_status()->set_phase("Pending");
  }
  if (auto errors = Validate(object); !errors.empty()) {
    return Error::Invalid(InvalidMessage(object, errors));
  }
  if (auto st = CheckNamespace(object); !st.ok()) return st.error();
  auto guards = Admit(object, nullptr);
  if (!guards.ok()) return guards.error();
  const std::string key = detail::ObjectStoreKey(*kind, meta->namespace_(), meta->name());
  return Write(key, std::move(object), 0, dry_run);
}

Result<v1::Object> Registry::Get(const ObjectKey& key) {
  auto where = Resolve(key);
  if (!where.ok()) return where.error();
  auto kv = store_.Get(where->key);
  if (!kv.ok()) return kv.error();
  if (!kv->has_value()) return NotFound(*where->kind, where->name);
  return Decode(*where, **kv);
}

Result<v1::Object> Registry::Update(v1::Object object, const UpdateOptions& options) {
  const api::KindInfo* kind = api::KindOf(object);
  if (kind == nullptr) return Error::Invalid("kind: Required value");
  const auto& given = api::MetaOf(object);
  auto where = Resolve({std::string(kind->kind), given.namespace_(), given.name()});
  if (!where.ok()) return where.error();
  auto kv = store_.Get(where->key);
  if (!kv.ok()) return kv.error();
  if (!kv->has_value()) return NotFound(*kind, where->name);
  auto current = Decode(*where, **kv);
  if (!current.ok()) return current.error();
  const auto& cur_meta = api::MetaOf(*current);
  if (!given.resource_version().empty() &&
      given.resource_version() != cur_meta.resource_version()) {
    return Conflict(*kind, where->name);
  }
  v1::Object merged;
  if (options.status) {
    merged = *current;
    detail::CopyStatus(object, merged);
  } else {
    merged = std::move(object);
    if (detail::HasStatus(merged) && !options.with_status) detail::CopyStatus(*current, merged);
    v1::ObjectMeta* meta = api::MutableMeta(merged);
    meta->set_namespace_(where->ns);
    meta->set_uid(cur_meta.uid());
    *meta->mutable_creation_timestamp() = cur_meta.creation_timestamp();
    if (cur_meta.has_deletion_timestamp()) {
      *meta->mutable_deletion_timestamp() = cur_meta.deletion_timestamp();
    } else {
      meta->clear_deletion_timestamp();
    }
    if (cur_meta.has_deletion_grace_period_seconds()) {
      meta->set_deletion_grace_period_seconds(cur_meta.deletion_grace_period_seconds());
    } else {
      meta->clear_deletion_grace_period_seconds();
    }
    meta->set_generation(cur_meta.generation());
    CarryOverAllocated(*current, merged);
    ApplyDefaults(merged);
    if (!detail::SameSpec(merged, *current)) meta->set_generation(cur_meta.generation() + 1);
  }
  api::MutableMeta(merged)->set_resource_version(cur_meta.resource_version());
  if (auto errors = ValidateUpdate(merged, *current); !errors.empty()) {
    return Error::Invalid(InvalidMessage(merged, errors));
  }
  std::vector<Admission::Guard> guards;
  if (!options.status) {
    auto admitted = Admit(merged, &*current);
    if (!admitted.ok()) return admitted.error();
    guards = std::move(*admitted);
  }
  if (detail::SameObject(merged, *current)) return merged;  // nothing to write
  const auto& meta = api::MetaOf(merged);
  // The last finalizer gone from an object being deleted: delete it now.
  // Pods wait for their node to finish the graceful stop instead.
  if (meta.has_deletion_timestamp() && meta.finalizers().empty() &&
      (!merged.has_pod() || meta.deletion_grace_period_seconds() == 0)) {
    return Remove(where->key, merged, (*kv)->mod_revision, options.dry_run);
  }
  return Write(where->key, std::move(merged), (*kv)->mod_revision, options.dry_run);
}

Result<v1::Object> Registry::Modify(const ObjectKey& key,
                                    const std::function<bool(v1::Object&)>& mutate,
                                    const UpdateOptions& options) {
  for (int attempt = 0;; ++attempt) {
    auto current = Get(key);
    if (!current.ok()) return current.error();
    v1::Object changed = *current;
    if (!mutate(changed)) return *current;
    auto updated = Update(std::move(changed), options);
    if (updated.ok() || updated.error().err() != ESTALE || attempt + 1 >= kConflictRetries) {
      return updated;
    }
  }
}

Result<v1::Object> Registry::Delete(const ObjectKey& key, const DeleteOptions& options) {
  auto where = Resolve(key);
  if (!where.ok()) return where.error();
  if (options.propagation != "Background" && options.propagation != "Foreground" &&
      options.propagation != "Orphan" && !options.propagation.empty()) {
    return Error::Invalid("propagationPolicy: Unsupported value: \"" + options.propagation +
                          "\": supported values: \"Background\", \"Foreground\", \"Orphan\"");
  }
  for (int attempt = 0;; ++attempt) {
    auto kv = store_.Get(where->key);
    if (!kv.ok()) return kv.error();
    if (!kv->has_value()) return NotFound(*where->kind, where->name);
    auto current = Decode(*where, **kv);
    if (!current.ok()) return current.error();
    const auto& meta = api::MetaOf(*current);
    if (!options.precondition_uid.empty() && options.precondition_uid != meta.uid()) {
      return Error::Sys(ESTALE,
                        "Precondition failed: UID in precondition: " + options.precondition_uid +
                            ", UID in object meta: " + meta.uid());
    }
    v1::Object marked = *current;
    v1::ObjectMeta* mmeta = api::MutableMeta(marked);
    const auto now = Now();
    Result<v1::Object> result = Error::Msg("unreachable");
    // Pods on a node stop gracefully: the node's agent ends the containers
    // and then deletes the pod with grace 0.
    int64_t grace = options.grace_period_seconds.value_or(
        current->has_pod() && current->pod().spec().has_termination_grace_period_seconds()
            ? current->pod().spec().termination_grace_period_seconds()
            : kDefaultPodGraceSeconds);
    if (grace < 0) grace = 0;
    const bool graceful = current->has_pod() && !current->pod().spec().node_name().empty() &&
                          grace > 0 && current->pod().status().phase() != "Succeeded" &&
                          current->pod().status().phase() != "Failed";
    if (options.propagation == "Foreground" && !HasFinalizer(meta, kForegroundFinalizer)) {
      mmeta->add_finalizers(std::string(kForegroundFinalizer));
    }
    if (options.propagation == "Orphan" && !HasFinalizer(meta, kOrphanFinalizer)) {
      mmeta->add_finalizers(std::string(kOrphanFinalizer));
    }
    if (marked.has_namespace_()) {
      if (!HasFinalizer(meta, kNamespaceFinalizer)) {
        mmeta->add_finalizers(std::string(kNamespaceFinalizer));
      }
      marked.mutable_namespace_()->mutable_status()->set_phase("Terminating");
    }
    if (graceful) {
      // A second delete may shorten the grace period, never lengthen it.
      if (meta.has_deletion_timestamp() && meta.deletion_grace_period_seconds() <= grace) {
        return *current;
      }
      *mmeta->mutable_deletion_timestamp() = detail::ToTimestamp(now + std::chrono::seconds(grace));
      mmeta->set_deletion_grace_period_seconds(grace);
      result = Write(where->key, std::move(marked), (*kv)->mod_revision, options.dry_run);
    } else if (!mmeta->finalizers().empty()) {
      if (!meta.has_deletion_timestamp()) {
        *mmeta->mutable_deletion_timestamp() = detail::ToTimestamp(now);
        mmeta->set_deletion_grace_period_seconds(0);
      }
      if (detail::SameObject(marked, *current)) return *current;
      result = Write(where->key, std::move(marked), (*kv)->mod_revision, options.dry_run);
    } else {
      result = Remove(where->key, *current, (*kv)->mod_revision, options.dry_run);
    }
    if (result.ok() || result.error().err() != ESTALE || attempt + 1 >= kConflictRetries) {
      return result;
    }
  }
}

}  // namespace berth::control
