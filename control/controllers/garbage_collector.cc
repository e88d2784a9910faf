#include "berth/control/controllers/garbage_collector.h"

#include <algorithm>
#include <cerrno>

#include "berth/api/kinds.h"
#include "berth/common/log.h"

namespace berth::control {
namespace {

constexpr std::string_view kForegroundFinalizer = "foregroundDeletion";
constexpr std::string_view kOrphanFinalizer = "orphan";

bool HasFinalizer(const v1::ObjectMeta& meta, std::string_view name) {
  return std::find(meta.finalizers().begin(), meta.finalizers().end(), name) !=
         meta.finalizers().end();
}

// Deletes and updates racing another writer: the object is gone (ENOENT)
// or was replaced by one with another uid (ESTALE from the uid
// precondition). Either way there is nothing left for the GC to do.
bool Gone(const Error& error) { return error.err() == ENOENT || error.err() == ESTALE; }

// Removes every owner reference whose uid is in `uids`; false when none was.
bool DropOwnerRefs(v1::ObjectMeta& meta, const std::set<std::string>& uids) {
  auto* refs = meta.mutable_owner_references();
  const int before = refs->size();
  refs->erase(std::remove_if(refs->begin(), refs->end(),
                             [&](const v1::OwnerReference& r) { return uids.count(r.uid()) > 0; }),
              refs->end());
  return refs->size() != before;
}

}  // namespace

GarbageCollector::GarbageCollector(Registry& registry, GarbageCollectorOptions options)
    : registry_(registry),
      options_(std::move(options)),
      runner_("garbagecollector", queue_, [this](const std::string& uid) { return Sync(uid); }) {
  if (options_.kinds.empty()) {
    for (const auto& kind : api::AllKinds()) {
      if (kind.kind != "Event") options_.kinds.emplace_back(kind.kind);
    }
  }
  for (const auto& kind : options_.kinds) {
    auto informer = std::make_unique<Informer>(registry_, kind);
    informer->AddHandler(
        [this](const ObjectEvent& event, const v1::Object* old) { OnEvent(event, old); });
    informers_.push_back(std::move(informer));
  }
}

GarbageCollector::~GarbageCollector() { Stop(); }

Status GarbageCollector::Start() {
  for (auto& informer : informers_) {
    BERTH_TRY_CTX(informer->Start(), "garbage collector: start informer " + informer->kind());
  }
  // Deciding on a partial graph would take owners for gone; the live
  // lookup would catch that, but at the cost of one Get per object.
  for (auto& informer : informers_) {
    if (!informer->WaitForSync(options_.sync_timeout)) {
      return Error::Sys(ETIMEDOUT,
                        "garbage collector: informer " + informer->kind() + " did not sync");
    }
  }
  resync_.Start(options_.resync, [this] { Resync(); });
  return runner_.Start(options_.workers);
}

void GarbageCollector::Stop() {
  resync_.Stop();
  queue_.ShutDown();
  runner_.Stop();
  std::vector<Informer*> informers;
  for (auto& informer : informers_) informers.push_back(informer.get());
  StopAll(informers);
}

void GarbageCollector::Resync() {
  std::vector<std::string> uids;
  {
    std::lock_guard lock(mu_);
    for (const auto& [uid, node] : nodes_) {
      if (!node.owners.empty() || node.foreground || node.orphan) uids.push_back(uid);
    }
  }
  for (const auto& uid : uids) queue_.Add(uid);
}

std::vector<std::string> GarbageCollector::DependentsOf(const std::string& owner_uid) const {
  std::lock_guard lock(mu_);
  auto it = dependents_.find(owner_uid);
  if (it == dependents_.end()) return {};
  return {it->second.begin(), it->second.end()};
}

void GarbageCollector::OnEvent(const ObjectEvent& event, const v1::Object* old) {
  const api::KindInfo* kind = api::KindOf(event.object);
  if (kind == nullptr) return;
  const auto& meta = api::MetaOf(event.object);
  std::vector<std::string> touched;
  {
    std::lock_guard lock(mu_);
    // A re-list may report an object replaced under the same name as
    // MODIFIED: the old uid is gone.
    if (old != nullptr && api::MetaOf(*old).uid() != meta.uid()) {
      RemoveLocked(api::MetaOf(*old).uid(), touched);
    }
    if (event.type == ObjectEvent::Type::kDeleted) {
      RemoveLocked(meta.uid(), touched);
    } else {
      GraphNode node;
      node.kind = std::string(kind->kind);
      node.ns = kind->namespaced ? meta.namespace_() : "";
      node.name = meta.name();
      node.uid = meta.uid();
      node.owners.assign(meta.owner_references().begin(), meta.owner_references().end());
      node.deleting = meta.has_deletion_timestamp();
      node.foreground = HasFinalizer(meta, kForegroundFinalizer);
      node.orphan = HasFinalizer(meta, kOrphanFinalizer);
      UpsertLocked(std::move(node), touched);
    }
  }
  for (const auto& uid : touched) queue_.Add(uid);
}

void GarbageCollector::UpsertLocked(GraphNode node, std::vector<std::string>& touched) {
  std::set<std::string> before, after;
  if (auto it = nodes_.find(node.uid); it != nodes_.end()) {
    for (const auto& ref : it->second.owners) before.insert(ref.uid());
  }
  for (const auto& ref : node.owners) after.insert(ref.uid());
  for (const auto& owner : before) {
    if (after.count(owner) > 0) continue;
    auto deps = dependents_.find(owner);
    if (deps != dependents_.end()) {
      deps->second.erase(node.uid);
      if (deps->second.empty()) dependents_.erase(deps);
    }
    // An owner waiting in the foreground may have lost its last blocker.
    touched.push_back(owner);
  }
  for (const auto& owner : after) dependents_[owner].insert(node.uid);
  // Objects without owners and without our finalizers have nothing to
  // collect: skip the queue for them (most pod status updates).
  if (!node.owners.empty() || (node.deleting && (node.foreground || node.orphan))) {
    touched.push_back(node.uid);
  }
  const std::string uid = node.uid;
  nodes_.insert_or_assign(uid, std::move(node));
}

void GarbageCollector::RemoveLocked(const std::string& uid, std::vector<std::string>& touched) {
  auto it = nodes_.find(uid);
  if (it == nodes_.end()) return;
  for (const auto& ref : it->second.owners) {
    auto deps = dependents_.find(ref.uid());
    if (deps != dependents_.end()) {
      deps->second.erase(uid);
      if (deps->second.empty()) dependents_.erase(deps);
    }
    touched.push_back(ref.uid());
  }
  // Its dependents may be orphans now. The reverse entry stays: they still
  // name this uid until they are collected or lose the reference.
  if (auto deps = dependents_.find(uid); deps != dependents_.end()) {
    touched.insert(touched.end(), deps->second.begin(), deps->second.end());
  }
  nodes_.erase(it);
}

Status GarbageCollector::Sync(const std::string& uid) {
  GraphNode node;
  {
    std::lock_guard lock(mu_);
    auto it = nodes_.find(uid);
    if (it == nodes_.end()) return {};
    node = it->second;
  }
  if (node.deleting) {
    // Orphaning first: an owner deleted with both policies keeps its
    // dependents (the orphan finalizer is the stronger request).
    if (node.orphan) return OrphanDependents(node);
    if (node.foreground) return DeleteDependents(node);
    return {};  // already on its way out
  }
  if (node.owners.empty()) return {};
  return SyncDependent(node);
}

Result<GarbageCollector::OwnerState> GarbageCollector::StateOf(const v1::OwnerReference& ref,
                                                               const GraphNode& dependent) {
  const api::KindInfo* kind = api::FindKind(ref.kind());
  {
    std::lock_guard lock(mu_);
    auto it = nodes_.find(ref.uid());
    // An owner in another namespace cannot own this object: Kubernetes
    // forbids cross-namespace owner references, the live lookup below in
    // the dependent's namespace settles it.
    if (it != nodes_.end() && (it->second.ns.empty() || it->second.ns == dependent.ns)) {
      const GraphNode& owner = it->second;
      return owner.deleting && owner.foreground ? OwnerState::kWaiting : OwnerState::kSolid;
    }
  }
  if (kind == nullptr) {
    // A kind Berth does not serve cannot be verified either way; keeping
    // the dependent is the safe side (Kubernetes retries such references).
    log::Warn("garbage collector: owner of unknown kind",
              {{"object", dependent.kind + "/" + dependent.name}, {"owner_kind", ref.kind()}});
    return OwnerState::kSolid;
  }
  // A cluster-scoped object cannot be owned by a namespaced one.
  if (kind->namespaced && dependent.ns.empty()) return OwnerState::kDangling;
  // Not in the caches: the informer may lag behind (the owner was just
  // created). Only the registry can say the owner is really gone.
  auto live =
      registry_.Get({std::string(kind->kind), kind->namespaced ? dependent.ns : "", ref.name()});
  if (!live.ok()) {
    if (live.error().err() == ENOENT) return OwnerState::kDangling;
    return std::move(live).error().Wrap("garbage collector: look up owner " + ref.kind() + "/" +
                                        ref.name());
  }
  const auto& meta = api::MetaOf(*live);
  if (meta.uid() != ref.uid()) return OwnerState::kDangling;
  if (meta.has_deletion_timestamp() && HasFinalizer(meta, kForegroundFinalizer)) {
    return OwnerState::kWaiting;
  }
  return OwnerState::kSolid;
}

Status GarbageCollector::SyncDependent(const GraphNode& cached) {
  // Decide on the dependent as stored, not as cached: its references may
  // have been dropped meanwhile (orphaning) and must not be acted on.
  auto live = registry_.Get({cached.kind, cached.ns, cached.name});
  if (!live.ok()) return Gone(live.error()) ? Status() : live.error();
  const auto& live_meta = api::MetaOf(*live);
  if (live_meta.uid() != cached.uid) return {};
  GraphNode node = cached;
  node.owners.assign(live_meta.owner_references().begin(), live_meta.owner_references().end());
  std::set<std::string> dangling, waiting;
  bool solid = false;
  for (const auto& ref : node.owners) {
    auto state = StateOf(ref, node);
    if (!state.ok()) return state.error();
    switch (*state) {
      case OwnerState::kSolid:
        solid = true;
        break;
      case OwnerState::kWaiting:
        waiting.insert(ref.uid());
        break;
      case OwnerState::kDangling:
        dangling.insert(ref.uid());
        break;
    }
  }
  if (dangling.empty() && waiting.empty()) return {};
  const ObjectKey key{node.kind, node.ns, node.name};
  if (solid) {
    // Kubernetes keeps an object that still has a live owner and only
    // drops the references to the gone owners and to those deleting in the
    // foreground (so they stop waiting for it).
    std::set<std::string> drop = dangling;
    drop.insert(waiting.begin(), waiting.end());
    auto updated = registry_.Modify(key, [&](v1::Object& o) {
      v1::ObjectMeta* meta = api::MutableMeta(o);
      return meta->uid() == node.uid && DropOwnerRefs(*meta, drop);
    });
    if (!updated.ok() && !Gone(updated.error())) {
      return std::move(updated).error().Wrap("garbage collector: drop owner references of " +
                                             node.kind + "/" + node.name);
    }
    return {};
  }
  // Every owner is gone or waiting for its dependents. A dependent with
  // dependents of its own goes in the foreground when an owner waits, so
  // the chain is deleted bottom-up (attemptToDeleteItem's policy choice).
  bool has_dependents = false;
  {
    std::lock_guard lock(mu_);
    has_dependents = dependents_.count(node.uid) > 0;
  }
  DeleteOptions options;
  options.propagation = !waiting.empty() && has_dependents ? "Foreground" : "Background";
  options.precondition_uid = node.uid;
  auto deleted = registry_.Delete(key, options);
  if (!deleted.ok() && !Gone(deleted.error())) {
    return std::move(deleted).error().Wrap("garbage collector: delete " + node.kind + "/" +
                                           node.name);
  }
  if (deleted.ok()) {
    log::Info("garbage collector: deleted dependent", {{"object", node.kind + "/" + node.name},
                                                       {"namespace", node.ns},
                                                       {"propagation", options.propagation}});
  }
  return {};
}

Status GarbageCollector::DeleteDependents(const GraphNode& owner) {
  int blocking = 0;
  std::vector<std::string> to_delete;
  {
    std::lock_guard lock(mu_);
    auto deps = dependents_.find(owner.uid);
    if (deps != dependents_.end()) {
      for (const auto& uid : deps->second) {
        auto it = nodes_.find(uid);
        if (it == nodes_.end()) continue;
        for (const auto& ref : it->second.owners) {
          if (ref.uid() == owner.uid && ref.has_block_owner_deletion() &&
              ref.block_owner_deletion()) {
            ++blocking;
            break;
          }
        }
        if (!it->second.deleting) to_delete.push_back(uid);
      }
    }
  }
  // Each dependent decides for itself (it may have another live owner);
  // its deletion event brings the owner back here.
  for (const auto& uid : to_delete) queue_.Add(uid);
  if (blocking > 0) return {};
  return RemoveFinalizer(owner, kForegroundFinalizer);
}

Status GarbageCollector::OrphanDependents(const GraphNode& owner) {
  // Dependents are found with live lists, not the graph: a dependent
  // created just before the owner's deletion may not have reached its
  // informer yet, and once the finalizer is gone it would be collected as
  // an orphan of a vanished owner instead of kept. Orphaning is rare; the
  // lists are cheap enough.
  std::vector<GraphNode> deps;
  for (const auto& informer : informers_) {
    const api::KindInfo* kind = api::FindKind(informer->kind());
    if (kind == nullptr) continue;
    ListOptions options{.kind = std::string(kind->kind)};
    if (kind->namespaced && !owner.ns.empty()) {
      options.namespace_ = owner.ns;
    } else {
      options.all_namespaces = true;
    }
    auto list = registry_.List(options);
    if (!list.ok()) return std::move(list).error().Wrap("garbage collector: orphan dependents");
    for (const auto& o : list->items) {
      const auto& meta = api::MetaOf(o);
      for (const auto& ref : meta.owner_references()) {
        if (ref.uid() != owner.uid) continue;
        deps.push_back(
            GraphNode{std::string(kind->kind), meta.namespace_(), meta.name(), meta.uid()});
        break;
      }
    }
  }
  const std::set<std::string> drop{owner.uid};
  for (const auto& dep : deps) {
    auto updated = registry_.Modify({dep.kind, dep.ns, dep.name}, [&](v1::Object& o) {
      v1::ObjectMeta* meta = api::MutableMeta(o);
      return meta->uid() == dep.uid && DropOwnerRefs(*meta, drop);
    });
    if (!updated.ok() && !Gone(updated.error())) {
      return std::move(updated).error().Wrap("garbage collector: orphan " + dep.kind + "/" +
                                             dep.name);
    }
  }
  return RemoveFinalizer(owner, kOrphanFinalizer);
}

Status GarbageCollector::RemoveFinalizer(const GraphNode& owner, std::string_view finalizer) {
  auto updated = registry_.Modify({owner.kind, owner.ns, owner.name}, [&](v1::Object& o) {
    v1::ObjectMeta* meta = api::MutableMeta(o);
    if (meta->uid() != owner.uid) return false;
    auto* finalizers = meta->mutable_finalizers();
    const int before = finalizers->size();
    finalizers->erase(std::remove(finalizers->begin(), finalizers->end(), finalizer),
                      finalizers->end());
    return finalizers->size() != before;
  });
  if (!updated.ok() && !Gone(updated.error())) {
    return std::move(updated).error().Wrap("garbage collector: remove finalizer " +
                                           std::string(finalizer) + " from " + owner.kind + "/" +
                                           owner.name);
  }
  return {};
}

}  // namespace berth::control
