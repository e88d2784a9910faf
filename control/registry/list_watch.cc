// Registry::List and Registry::Watch: ranges and store watches over a
// kind's key prefix, decoded and filtered by label and field selectors.
#include <cerrno>
#include <deque>
#include <set>

#include "registry_internal.h"
#include "watch_cache.h"

#include "berth/api/kinds.h"
#include "berth/common/log.h"
#include "berth/control/registry.h"
#include "berth/control/selector.h"

namespace berth::control {
namespace {

constexpr int64_t kListChunk = 512;

struct Filter {
  LabelSelector labels;
  std::vector<FieldRequirement> fields;

  bool Matches(const v1::Object& object) const {
    const auto& meta = api::MetaOf(object);
    if (!labels.Empty()) {
      const Labels l(meta.labels().begin(), meta.labels().end());
      if (!labels.Matches(l)) return false;
    }
    for (const auto& f : fields) {
      if ((FieldValue(object, f.field) == f.value) != f.equals) return false;
    }
    return true;
  }
};

Result<Filter> MakeFilter(const api::KindInfo& kind, const std::string& label_selector,
                          const std::string& field_selector) {
  Filter filter;
  auto labels = LabelSelector::Parse(label_selector);
  if (!labels.ok()) return std::move(labels).error().Wrap("labelSelector");
  filter.labels = std::move(*labels);
  auto fields = ParseFieldSelector(field_selector, SelectableFields(kind.kind));
  if (!fields.ok()) return std::move(fields).error().Wrap("fieldSelector");
  filter.fields = std::move(*fields);
  return filter;
}

// Continue tokens are the next key to read, hex-encoded so they are opaque
// and printable.
std::string EncodeToken(const std::string& key) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : key) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

Result<std::string> DecodeToken(const std::string& token, const std::string& prefix) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string key;
  bool ok = token.size() % 2 == 0;
  for (size_t i = 0; ok && i < token.size(); i += 2) {
    const int hi = nibble(token[i]);
    const int lo = nibble(token[i + 1]);
    ok = hi >= 0 && lo >= 0;
    key += static_cast<char>(hi * 16 + lo);
  }
  if (!ok || key.compare(0, prefix.size(), prefix) != 0) {
    return Error::Invalid("continue: Invalid value: \"" + token +
                          "\": not a continue token of this list");
  }
  return key;
}

}  // namespace

std::vector<std::string> SelectableFields(std::string_view kind) {
  std::vector<std::string> fields = {"metadata.name", "metadata.namespace"};
  if (kind == "Pod") {
    fields.insert(fields.end(), {"spec.nodeName", "spec.schedulerName", "status.phase"});
  } else if (kind == "Node") {
    fields.emplace_back("spec.unschedulable");
  } else if (kind == "Event") {
    fields.insert(fields.end(),
                  {"involvedObject.kind", "involvedObject.name", "involvedObject.namespace",
                   "involvedObject.uid", "reason", "type"});
  } else if (kind == "Secret") {
    fields.emplace_back("type");
  }
  return fields;
}

std::string FieldValue(const v1::Object& object, std::string_view field) {
  const auto& meta = api::MetaOf(object);
  if (field == "metadata.name") return meta.name();
  if (field == "metadata.namespace") return meta.namespace_();
  if (object.has_pod()) {
    const auto& pod = object.pod();
    if (field == "spec.nodeName") return pod.spec().node_name();
    if (field == "spec.schedulerName") return pod.spec().scheduler_name();
    if (field == "status.phase") return pod.status().phase();
  }
  if (object.has_node() && field == "spec.unschedulable") {
    return object.node().spec().unschedulable() ? "true" : "false";
  }
  if (object.has_event()) {
    const auto& ev = object.event();
    if (field == "involvedObject.kind") return ev.involved_object().kind();
    if (field == "involvedObject.name") return ev.involved_object().name();
    if (field == "involvedObject.namespace") return ev.involved_object().namespace_();
    if (field == "involvedObject.uid") return ev.involved_object().uid();
    if (field == "reason") return ev.reason();
    if (field == "type") return ev.type();
  }
  if (object.has_secret() && field == "type") return object.secret().type();
  return "";
}

Result<ListResult> Registry::List(const ListOptions& options) {
  const api::KindInfo* kind = api::FindKind(options.kind);
  if (kind == nullptr) {
    return Error::Invalid("the server doesn't have a resource type \"" + options.kind + "\"");
  }
  if (options.limit < 0) return Error::Invalid("limit: Invalid value: must be >= 0");
  auto filter = MakeFilter(*kind, options.label_selector, options.field_selector);
  if (!filter.ok()) return filter.error();
  const std::string ns =
      options.all_namespaces ? "" : (options.namespace_.empty() ? "default" : options.namespace_);
  const std::string prefix = detail::KindPrefix(*kind, ns);
  const std::string end = PrefixEnd(prefix);
  std::string start = prefix;
  if (!options.continue_token.empty()) {
    auto key = DecodeToken(options.continue_token, prefix);
    if (!key.ok()) return key.error();
    start = std::move(*key);
  }
  Resolved where{kind, ns, "", ""};
  ListResult out;
  out.revision = 0;
  while (true) {
    auto range = store_.Range(start, end, kListChunk);
    if (!range.ok()) return range.error();
    if (out.revision == 0) out.revision = range->revision;
    for (const auto& kv : range->kvs) {
      if (options.limit > 0 && static_cast<int64_t>(out.items.size()) >= options.limit) {
        out.continue_token = EncodeToken(kv.key);
        return out;
      }
      auto object = Decode(where, kv);
      if (!object.ok()) return object.error();
      if (filter->Matches(*object)) out.items.push_back(std::move(*object));
    }
    if (!range->more || range->kvs.empty()) break;
    start = range->kvs.back().key + '\0';
  }
  return out;
}

class ObjectWatchImpl : public ObjectWatch {
 public:
  ObjectWatchImpl(Registry& registry, Registry::Resolved where, Filter filter, int64_t revision,
                  bool listed)
      : registry_(registry),
        where_(std::move(where)),
        filter_(std::move(filter)),
        revision_(revision),
        listed_(listed) {}

  void Queue(std::vector<v1::Object> initial) {
    for (auto& object : initial) {
      known_.insert(api::MetaOf(object).name() + "\n" + api::MetaOf(object).namespace_());
      pending_.push_back({ObjectEvent::Type::kAdded, std::move(object), revision_});
    }
  }

  // Events from the shared watch cache.
  void Follow(std::shared_ptr<detail::CacheSubscription> sub) { sub_ = std::move(sub); }

  // Events from a store watch of its own (a revision older than the cache).
  Status Follow(std::string_view prefix, std::string_view end, int64_t from) {
    auto stream = registry_.store_.Watch(prefix, end, from);
    if (!stream.ok()) {
      if (stream.error().err() == ESTALE) {
        return Error::Sys(ERANGE, "too old resource version: " + std::to_string(from - 1) +
                                      " (compacted up to " +
                                      std::to_string(registry_.store_.CompactedRevision()) +
                                      "); list again and watch from the list's resourceVersion");
      }
      return stream.error();
    }
    stream_ = std::move(*stream);
    return {};
  }

  Result<std::vector<ObjectEvent>> Next(std::chrono::milliseconds timeout) override {
    if (!pending_.empty()) {
      std::vector<ObjectEvent> out(std::make_move_iterator(pending_.begin()),
                                   std::make_move_iterator(pending_.end()));
      pending_.clear();
      return out;
    }
    std::vector<detail::DecodedEvent> events;
    if (sub_) {
      BERTH_ASSIGN_OR_RETURN(events, sub_->Next(timeout));
    } else {
      BERTH_ASSIGN_OR_RETURN(auto raw, stream_->Next(timeout));
      for (const auto& e : raw) {
        BERTH_ASSIGN_OR_RETURN(v1::Object object, registry_.Decode(where_, e.kv));
        detail::DecodedEvent d;
        d.deleted = e.type == Event::Type::kDelete;
        d.object = std::make_shared<const v1::Object>(std::move(object));
        d.mod_revision = e.kv.mod_revision;
        d.create_revision = e.kv.create_revision;
        events.push_back(std::move(d));
      }
    }
    std::vector<ObjectEvent> out;
    for (const auto& e : events) {
      revision_ = e.mod_revision;
      const v1::Object& object = *e.object;
      const auto& meta = api::MetaOf(object);
      const std::string id = meta.name() + "\n" + meta.namespace_();
      const bool matches = filter_.Matches(object);
      const bool was = known_.count(id) > 0;
      if (e.deleted) {
        if (!matches && !was) continue;
        known_.erase(id);
        v1::Object gone = object;
        api::MutableMeta(gone)->set_resource_version(std::to_string(e.mod_revision));
        out.push_back({ObjectEvent::Type::kDeleted, std::move(gone), e.mod_revision});
        continue;
      }
      if (matches) {
        known_.insert(id);
        // Without an initial list the watcher's view is unknown: an object
        // created before the watch is reported as modified, as Kubernetes does.
        const bool added = !was && (listed_ || e.create_revision == e.mod_revision);
        out.push_back({added ? ObjectEvent::Type::kAdded : ObjectEvent::Type::kModified, object,
                       e.mod_revision});
      } else if (was) {
        // Stopped matching the selector: gone from the watcher's view.
        known_.erase(id);
        out.push_back({ObjectEvent::Type::kDeleted, object, e.mod_revision});
      }
    }
    return out;
  }

  void Cancel() override {
    if (sub_) sub_->Cancel();
    if (stream_) stream_->Cancel();
  }
  int64_t Revision() const override { return revision_; }

  void SetReadyCallback(std::function<void()> ready) override {
    const bool queued = !pending_.empty();
    if (sub_) {
      sub_->SetReadyCallback(ready);
    } else {
      stream_->SetReadyCallback(ready);
    }
    if (queued) ready();
  }

 private:
  Registry& registry_;
  Registry::Resolved where_;
  Filter filter_;
  int64_t revision_;
  bool listed_;
  std::shared_ptr<detail::CacheSubscription> sub_;
  std::unique_ptr<WatchStream> stream_;
  std::deque<ObjectEvent> pending_;
  std::set<std::string> known_;
};

namespace {

// The node a Pod watch selects with spec.nodeName=<node>: its index in the
// watch cache. "" when it selects no single node.
std::string SelectedNode(const api::KindInfo& kind, const Filter& filter) {
  if (kind.kind != "Pod") return "";
  for (const auto& f : filter.fields) {
    if (f.field == "spec.nodeName" && f.equals && !f.value.empty()) return f.value;
  }
  return "";
}

}  // namespace

std::shared_ptr<detail::WatchCache> Registry::CacheFor(const api::KindInfo& kind) {
  if (options_.watch_cache_events == 0) return nullptr;
  std::lock_guard lock(caches_mu_);
  auto& cache = caches_[std::string(kind.kind)];
  if (cache) return cache;
  const Resolved where{&kind, "", "", ""};
  auto created = std::make_shared<detail::WatchCache>(
      store_, detail::KindPrefix(kind, ""),
      [this, where](const KeyValue& kv) { return Decode(where, kv); }, options_.watch_cache_events);
  if (auto st = created->Start(); !st.ok()) {
    log::Warn("watch cache unavailable; watches read the store",
              {{"kind", std::string(kind.kind)}, {"error", st.error().ToString()}});
    caches_.erase(std::string(kind.kind));
    return nullptr;
  }
  cache = created;
  return cache;
}

Result<std::unique_ptr<ObjectWatch>> Registry::Watch(const WatchOptions& options) {
  const api::KindInfo* kind = api::FindKind(options.kind);
  if (kind == nullptr) {
    return Error::Invalid("the server doesn't have a resource type \"" + options.kind + "\"");
  }
  auto filter = MakeFilter(*kind, options.label_selector, options.field_selector);
  if (!filter.ok()) return filter.error();
  const std::string ns =
      options.all_namespaces ? "" : (options.namespace_.empty() ? "default" : options.namespace_);
  const std::string prefix = detail::KindPrefix(*kind, ns);
  // The cache first, so that a list read now is within what it holds.
  auto cache = CacheFor(*kind);
  std::vector<v1::Object> initial;
  int64_t revision = options.after_revision;
  const bool listed = options.after_revision == 0;
  if (listed) {
    auto list = List({.kind = std::string(kind->kind),
                      .namespace_ = ns,
                      .all_namespaces = options.all_namespaces,
                      .label_selector = options.label_selector,
                      .field_selector = options.field_selector});
    if (!list.ok()) return list.error();
    initial = std::move(list->items);
    revision = list->revision;
  }
  const std::string node = SelectedNode(*kind, *filter);
  auto watch = std::make_unique<ObjectWatchImpl>(*this, Resolved{kind, ns, "", ""},
                                                 std::move(*filter), revision, listed);
  std::shared_ptr<detail::CacheSubscription> sub;
  if (cache) {
    auto subscribed = cache->Subscribe(revision, ns, node);
    if (subscribed.ok()) sub = std::move(*subscribed);
  }
  if (sub) {
    watch->Follow(std::move(sub));
  } else if (auto st = watch->Follow(prefix, PrefixEnd(prefix), revision + 1); !st.ok()) {
    return st.error();
  }
  watch->Queue(std::move(initial));
  return std::unique_ptr<ObjectWatch>(std::move(watch));
}

}  // namespace berth::control
