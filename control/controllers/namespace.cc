#include "berth/control/controllers/namespace.h"

#include <algorithm>
#include <cerrno>

#include "berth/api/kinds.h"
#include "berth/common/log.h"

namespace berth::control {
namespace {

// Kubernetes' finalizer for namespace content (FinalizerKubernetes).
constexpr std::string_view kNamespaceFinalizer = "kubernetes";

bool EraseValue(google::protobuf::RepeatedPtrField<std::string>& values, std::string_view value) {
  const int before = values.size();
  values.erase(std::remove(values.begin(), values.end(), value), values.end());
  return values.size() != before;
}

}  // namespace

NamespaceController::NamespaceController(Registry& registry, Informer& namespaces,
                                         NamespaceControllerOptions options)
    : registry_(registry),
      namespaces_(namespaces),
      options_(options),
      runner_("namespace", queue_, [this](const std::string& key) { return Sync(key); }) {
  namespaces_.AddHandler([this](const ObjectEvent& event, const v1::Object*) {
    // Only namespaces being deleted have work; a deleted one has none left.
    if (event.type != ObjectEvent::Type::kDeleted &&
        api::MetaOf(event.object).has_deletion_timestamp()) {
      queue_.Add(KeyOf(event.object));
    }
  });
}

NamespaceController::~NamespaceController() { Stop(); }

Status NamespaceController::Start() {
  BERTH_TRY(WaitForInformers({&namespaces_}, "namespace controller"));
  resync_.Start(options_.resync, [this] {
    for (const auto& ns : namespaces_.List()) {
      if (api::MetaOf(ns).has_deletion_timestamp()) queue_.Add(KeyOf(ns));
    }
  });
  return runner_.Start(options_.workers);
}

void NamespaceController::Stop() {
  resync_.Stop();
  queue_.ShutDown();
  runner_.Stop();
}

Status NamespaceController::Sync(const std::string& name) {
  auto cached = namespaces_.Get("", name);
  if (!cached) return {};
  const v1::ObjectMeta& meta = cached->namespace_().metadata();
  if (!meta.has_deletion_timestamp()) return {};
  if (std::find(meta.finalizers().begin(), meta.finalizers().end(), kNamespaceFinalizer) ==
      meta.finalizers().end()) {
    return {};  // emptied already; other finalizers are someone else's
  }
  auto remaining = DeleteContent(name);
  if (!remaining.ok()) return std::move(remaining).error().Wrap("namespace " + name);
  if (*remaining > 0) {
    queue_.AddAfter(name, options_.recheck);
    return {};
  }
  const std::string uid = meta.uid();
  auto finalized = registry_.Modify({"Namespace", "", name}, [&](v1::Object& o) {
    v1::Namespace& ns = *o.mutable_namespace_();
    if (ns.metadata().uid() != uid) return false;
    // Kubernetes keeps the finalizer in spec.finalizers too; clear both.
    const bool in_meta =
        EraseValue(*ns.mutable_metadata()->mutable_finalizers(), kNamespaceFinalizer);
    const bool in_spec = EraseValue(*ns.mutable_spec()->mutable_finalizers(), kNamespaceFinalizer);
    return in_meta || in_spec;
  });
  if (!finalized.ok() && finalized.error().err() != ENOENT) {
    return std::move(finalized).error().Wrap("namespace " + name + ": remove finalizer");
  }
  log::Info("namespace emptied and removed", {{"namespace", name}});
  return {};
}

Result<int64_t> NamespaceController::DeleteContent(const std::string& ns) {
  int64_t remaining = 0;
  for (const api::KindInfo& kind : api::AllKinds()) {
    if (!kind.namespaced) continue;
    auto list = registry_.List({.kind = std::string(kind.kind), .namespace_ = ns});
    if (!list.ok()) return std::move(list).error().Wrap("list " + std::string(kind.plural));
    for (const auto& object : list->items) {
      const auto& meta = api::MetaOf(object);
      if (meta.has_deletion_timestamp()) {
        ++remaining;  // waiting for its grace period or finalizers
        continue;
      }
      DeleteOptions options;
      options.precondition_uid = meta.uid();
      auto deleted = registry_.Delete({std::string(kind.kind), ns, meta.name()}, options);
      if (!deleted.ok()) {
        // ENOENT: deleted meanwhile (by the garbage collector, say); ESTALE:
        // replaced, which the next pass sees.
        if (deleted.error().err() == ENOENT) continue;
        if (deleted.error().err() == ESTALE) {
          ++remaining;
          continue;
        }
        return std::move(deleted).error().Wrap("delete " + api::ResourceName(object));
      }
      // Marked rather than removed: it still has to go.
      if (api::MetaOf(*deleted).has_deletion_timestamp()) ++remaining;
    }
  }
  return remaining;
}

}  // namespace berth::control
