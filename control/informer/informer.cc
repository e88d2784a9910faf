#include "berth/control/informer.h"

#include <algorithm>
#include <utility>

#include "berth/api/kinds.h"
#include "berth/common/log.h"

namespace berth::control {
namespace {

// How often the informer thread looks at the stop flag while the watch is
// quiet; bounds how long Stop() takes.
constexpr std::chrono::milliseconds kPoll{100};
constexpr std::chrono::milliseconds kFirstBackoff{100};
constexpr std::chrono::milliseconds kMaxBackoff{5000};

bool IsNamespaced(std::string_view kind) {
  const api::KindInfo* info = api::FindKind(kind);
  return info == nullptr || info->namespaced;
}

}  // namespace

Informer::Informer(Registry& registry, std::string kind, std::string field_selector,
                   std::string label_selector)
    : registry_(registry),
      kind_(std::move(kind)),
      field_selector_(std::move(field_selector)),
      label_selector_(std::move(label_selector)),
      namespaced_(IsNamespaced(kind_)) {}

Informer::~Informer() { Stop(); }

void Informer::AddHandler(Handler handler) { handlers_.push_back(std::move(handler)); }

void Informer::AddIndex(std::string name, IndexFunc index_fn) {
  std::unique_lock lock(mu_);
  Index& index =
      indexes_.insert_or_assign(std::move(name), Index{std::move(index_fn), {}}).first->second;
  for (const auto& [key, object] : cache_) {
    for (auto& value : index.fn(object)) index.keys[std::move(value)].insert(key);
  }
}

Status Informer::Start() {
  const std::string what = "informer for " + kind_;
  const api::KindInfo* kind = api::FindKind(kind_);
  if (kind == nullptr) {
    return Error::Invalid(what + ": the server doesn't have a resource type \"" + kind_ + "\"");
  }
  // Checked here so that a typo fails the caller instead of making the
  // thread retry forever.
  if (auto labels = LabelSelector::Parse(label_selector_); !labels.ok()) {
    return std::move(labels).error().Wrap(what + ": labelSelector");
  }
  if (auto fields = ParseFieldSelector(field_selector_, SelectableFields(kind->kind));
      !fields.ok()) {
    return std::move(fields).error().Wrap(what + ": fieldSelector");
  }
  if (thread_.joinable()) return Error::Sys(EBUSY, what + ": already running");
  {
    std::lock_guard lock(stop_mu_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { Run(); });
  return Ok();
}

void Informer::Stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  thread_.join();
}

bool Informer::Stopping() const {
  std::lock_guard lock(stop_mu_);
  return stopping_;
}

bool Informer::SleepUnlessStopped(std::chrono::milliseconds delay) {
  std::unique_lock lock(stop_mu_);
  return !stop_cv_.wait_for(lock, delay, [this] { return stopping_; });
}

void Informer::Run() {
  auto backoff = kFirstBackoff;
  while (!Stopping()) {
    bool listed = false;
    Status status = ListAndWatch(listed);
    if (status.ok()) break;  // stopped
    // A watch that got as far as a list was healthy: start over from the
    // shortest delay.
    if (listed) backoff = kFirstBackoff;
    log::Warn("informer watch failed; listing again",
              {{"kind", kind_},
               {"error", status.error().ToString()},
               {"retry_in_ms", static_cast<int64_t>(backoff.count())}});
    if (!SleepUnlessStopped(backoff)) break;
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

Status Informer::ListAndWatch(bool& listed) {
  auto watch = registry_.Watch({.kind = kind_,
                                .all_namespaces = true,
                                .label_selector = label_selector_,
                                .field_selector = field_selector_,
                                .after_revision = 0});
  if (!watch.ok()) return std::move(watch).error().Wrap("watch " + kind_);
  // A watch from revision 0 stands at the revision of its list, and the
  // registry hands out the whole list as ADDED events of that revision in
  // the first batch. The zero timeout keeps an empty list from waiting.
  const int64_t list_revision = (*watch)->Revision();
  auto first = (*watch)->Next(std::chrono::milliseconds(0));
  if (!first.ok()) return std::move(first).error().Wrap("watch " + kind_);
  std::vector<v1::Object> objects;
  std::vector<ObjectEvent> live;
  for (auto& event : *first) {
    if (live.empty() && event.type == ObjectEvent::Type::kAdded &&
        event.revision <= list_revision) {
      objects.push_back(std::move(event.object));
    } else {
      live.push_back(std::move(event));
    }
  }
  Dispatch(ApplyList(std::move(objects), list_revision));
  {
    std::lock_guard lock(sync_mu_);
    synced_ = true;
  }
  sync_cv_.notify_all();
  listed = true;
  for (auto& event : live) {
    if (auto change = ApplyEvent(std::move(event))) Dispatch({std::move(*change)});
  }
  while (!Stopping()) {
    auto events = (*watch)->Next(kPoll);
    if (!events.ok()) return std::move(events).error().Wrap("watch " + kind_);
    for (auto& event : *events) {
      if (auto change = ApplyEvent(std::move(event))) Dispatch({std::move(*change)});
    }
  }
  return Ok();
}

std::vector<Informer::Change> Informer::ApplyList(std::vector<v1::Object> objects,
                                                  int64_t revision) {
  std::map<std::string, v1::Object> fresh;
  for (auto& object : objects) {
    const auto& meta = api::MetaOf(object);
    std::string key = KeyFor(meta.namespace_(), meta.name());
    fresh.insert_or_assign(std::move(key), std::move(object));
  }
  std::vector<Change> changes;
  std::unique_lock lock(mu_);
  // What vanished while the informer was not watching goes first, with the
  // last state the cache knew (the deletion itself was never seen).
  for (auto it = cache_.begin(); it != cache_.end();) {
    if (fresh.count(it->first) > 0) {
      ++it;
      continue;
    }
    UnindexLocked(it->first, it->second);
    Change change;
    change.event = {ObjectEvent::Type::kDeleted, it->second, revision};
    change.old = std::move(it->second);
    changes.push_back(std::move(change));
    it = cache_.erase(it);
  }
  for (auto& [key, object] : fresh) {
    Change change;
    change.event.revision = revision;
    change.event.object = object;
    auto it = cache_.find(key);
    if (it == cache_.end()) {
      change.event.type = ObjectEvent::Type::kAdded;
      IndexLocked(key, object);
      cache_.emplace(key, std::move(object));
    } else {
      change.event.type = ObjectEvent::Type::kModified;
      UnindexLocked(key, it->second);
      change.old = std::move(it->second);
      it->second = std::move(object);
      IndexLocked(key, it->second);
    }
    changes.push_back(std::move(change));
  }
  revision_.store(revision);
  return changes;
}

std::optional<Informer::Change> Informer::ApplyEvent(ObjectEvent event) {
  const auto& meta = api::MetaOf(event.object);
  const std::string key = KeyFor(meta.namespace_(), meta.name());
  Change change;
  {
    std::unique_lock lock(mu_);
    revision_.store(event.revision);
    auto it = cache_.find(key);
    if (event.type == ObjectEvent::Type::kDeleted) {
      if (it == cache_.end()) return std::nullopt;
      UnindexLocked(key, it->second);
      change.old = std::move(it->second);
      cache_.erase(it);
    } else if (it == cache_.end()) {
      event.type = ObjectEvent::Type::kAdded;
      IndexLocked(key, event.object);
      cache_.emplace(key, event.object);
    } else {
      event.type = ObjectEvent::Type::kModified;
      UnindexLocked(key, it->second);
      change.old = std::move(it->second);
      it->second = event.object;
      IndexLocked(key, it->second);
    }
  }
  change.event = std::move(event);
  return change;
}

void Informer::Dispatch(const std::vector<Change>& changes) const {
  for (const auto& change : changes) {
    const v1::Object* old = change.old ? &*change.old : nullptr;
    for (const auto& handler : handlers_) handler(change.event, old);
  }
}

std::string Informer::KeyFor(std::string_view ns, std::string_view name) const {
  if (!namespaced_ || ns.empty()) return std::string(name);
  std::string key;
  key.reserve(ns.size() + 1 + name.size());
  key.append(ns).append("/").append(name);
  return key;
}

void Informer::IndexLocked(const std::string& key, const v1::Object& object) {
  for (auto& [name, index] : indexes_) {
    for (auto& value : index.fn(object)) index.keys[std::move(value)].insert(key);
  }
}

void Informer::UnindexLocked(const std::string& key, const v1::Object& object) {
  for (auto& [name, index] : indexes_) {
    for (const auto& value : index.fn(object)) {
      auto it = index.keys.find(value);
      if (it == index.keys.end()) continue;
      it->second.erase(key);
      if (it->second.empty()) index.keys.erase(it);
    }
  }
}

std::optional<v1::Object> Informer::Get(std::string_view ns, std::string_view name) const {
  const std::string key = KeyFor(ns, name);
  std::shared_lock lock(mu_);
  auto it = cache_.find(key);
  if (it == cache_.end()) return std::nullopt;
  return it->second;
}

std::vector<v1::Object> Informer::List(std::string_view ns) const {
  return List(ns, LabelSelector());
}

std::vector<v1::Object> Informer::List(std::string_view ns, const LabelSelector& selector) const {
  auto matches = [&selector](const v1::Object& object) {
    if (selector.Empty()) return true;
    const auto& labels = api::MetaOf(object).labels();
    return selector.Matches(Labels(labels.begin(), labels.end()));
  };
  std::vector<v1::Object> out;
  std::shared_lock lock(mu_);
  if (!namespaced_ || ns.empty()) {
    for (const auto& [key, object] : cache_) {
      if (matches(object)) out.push_back(object);
    }
    return out;
  }
  const std::string prefix = std::string(ns) + "/";
  for (auto it = cache_.lower_bound(prefix); it != cache_.end() && it->first.starts_with(prefix);
       ++it) {
    if (matches(it->second)) out.push_back(it->second);
  }
  return out;
}

std::vector<v1::Object> Informer::ByIndex(std::string_view name, std::string_view value) const {
  std::vector<v1::Object> out;
  std::shared_lock lock(mu_);
  auto index = indexes_.find(name);
  if (index == indexes_.end()) return out;
  auto keys = index->second.keys.find(value);
  if (keys == index->second.keys.end()) return out;
  out.reserve(keys->second.size());
  for (const auto& key : keys->second) {
    auto it = cache_.find(key);
    if (it != cache_.end()) out.push_back(it->second);
  }
  return out;
}

bool Informer::HasSynced() const {
  std::lock_guard lock(sync_mu_);
  return synced_;
}

bool Informer::WaitForSync(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(sync_mu_);
  return sync_cv_.wait_for(lock, timeout, [this] { return synced_; });
}

int64_t Informer::Revision() const { return revision_.load(); }

std::vector<std::string> IndexByNodeName(const v1::Object& object) {
  if (!object.has_pod() || object.pod().spec().node_name().empty()) return {};
  return {object.pod().spec().node_name()};
}

std::vector<std::string> IndexByControllerUid(const v1::Object& object) {
  for (const auto& ref : api::MetaOf(object).owner_references()) {
    if (ref.has_controller() && ref.controller()) return {ref.uid()};
  }
  return {};
}

void StopAll(const std::vector<Informer*>& informers) {
  std::vector<std::thread> stoppers;
  stoppers.reserve(informers.size());
  for (Informer* informer : informers) {
    if (informer != nullptr) stoppers.emplace_back([informer] { informer->Stop(); });
  }
  for (auto& t : stoppers) t.join();
}

}  // namespace berth::control
