#include "watch_cache.h"

#include "berth/api/kinds.h"
#include "berth/common/log.h"

namespace berth::control::detail {
namespace {

// The node a pod is bound to; "" for other kinds and unbound pods.
const std::string& NodeOf(const v1::Object& o) {
  static const std::string kNone;
  return o.has_pod() ? o.pod().spec().node_name() : kNone;
}

const std::string& NamespaceOf(const v1::Object& o) { return api::MetaOf(o).namespace_(); }

}  // namespace

Result<std::vector<DecodedEvent>> CacheSubscription::Next(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return cancelled_ || !queue_.empty(); });
  if (cancelled_) return Error::Sys(ECANCELED, "watch cancelled");
  std::vector<DecodedEvent> out(std::make_move_iterator(queue_.begin()),
                                std::make_move_iterator(queue_.end()));
  queue_.clear();
  for (const auto& e : out) {
    if (e.error) return *e.error;
  }
  return out;
}

void CacheSubscription::Cancel() {
  std::shared_ptr<const std::function<void()>> ready;
  {
    std::lock_guard lock(mu_);
    if (cancelled_) return;
    cancelled_ = true;
    ready = ready_;
  }
  cv_.notify_all();
  if (auto cache = cache_.lock()) cache->Remove(this);
  if (ready) (*ready)();
}

void CacheSubscription::SetReadyCallback(std::function<void()> ready) {
  auto shared = std::make_shared<const std::function<void()>>(std::move(ready));
  bool waiting = false;
  {
    std::lock_guard lock(mu_);
    ready_ = shared;
    waiting = cancelled_ || !queue_.empty();
  }
  if (waiting) (*shared)();
}

CacheSubscription::~CacheSubscription() = default;

WatchCache::WatchCache(Store& store, std::string prefix, Decoder decode, size_t history)
    : store_(store),
      prefix_(std::move(prefix)),
      decode_(std::move(decode)),
      history_limit_(history) {}

WatchCache::~WatchCache() { Stop(); }

Status WatchCache::Start() {
  const int64_t revision = store_.Revision();
  BERTH_ASSIGN_OR_RETURN(stream_, store_.Watch(prefix_, PrefixEnd(prefix_), revision + 1));
  covered_from_ = revision;
  thread_ = std::thread([this] { Run(); });
  return {};
}

void WatchCache::Stop() {
  stop_ = true;
  if (stream_) stream_->Cancel();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mu_);
  auto cancel = [](const std::shared_ptr<CacheSubscription>& s) {
    std::shared_ptr<const std::function<void()>> ready;
    {
      std::lock_guard sl(s->mu_);
      s->cancelled_ = true;
      ready = s->ready_;
    }
    s->cv_.notify_all();
    if (ready) (*ready)();
  };
  for (const auto& s : everyone_) cancel(s);
  for (auto& [node, subs] : by_node_) {
    for (const auto& s : subs) cancel(s);
  }
  everyone_.clear();
  by_node_.clear();
}

Result<std::shared_ptr<CacheSubscription>> WatchCache::Subscribe(int64_t after, std::string ns,
                                                                 std::string node) {
  auto sub = std::make_shared<CacheSubscription>();
  sub->cache_ = weak_from_this();
  sub->ns_ = std::move(ns);
  sub->node_ = std::move(node);
  sub->after_ = after;
  std::lock_guard lock(mu_);
  if (after < covered_from_) {
    return Error::Sys(ESTALE,
                      "revision " + std::to_string(after) + " is older than the watch cache");
  }
  for (const DecodedEvent& e : history_) {
    if (e.mod_revision <= after) continue;
    if (e.error) {
      sub->queue_.push_back(e);
      continue;
    }
    if (!sub->ns_.empty() && NamespaceOf(*e.object) != sub->ns_) continue;
    if (!sub->node_.empty() && NodeOf(*e.object) != sub->node_) continue;
    sub->queue_.push_back(e);
  }
  if (sub->node_.empty()) {
    everyone_.insert(sub);
  } else {
    by_node_[sub->node_].insert(sub);
  }
  return sub;
}

void WatchCache::Remove(CacheSubscription* sub) {
  std::lock_guard lock(mu_);
  auto drop = [&](std::set<std::shared_ptr<CacheSubscription>>& set) {
    for (auto it = set.begin(); it != set.end(); ++it) {
      if (it->get() == sub) {
        set.erase(it);
        return true;
      }
    }
    return false;
  };
  if (sub->node_.empty()) {
    drop(everyone_);
    return;
  }
  auto it = by_node_.find(sub->node_);
  if (it == by_node_.end()) return;
  drop(it->second);
  if (it->second.empty()) by_node_.erase(it);
}

void WatchCache::Dispatch(const DecodedEvent& e) {
  auto deliver = [&](const std::shared_ptr<CacheSubscription>& s) {
    if (e.mod_revision <= s->after_) return;
    if (!e.error && !s->ns_.empty() && NamespaceOf(*e.object) != s->ns_) return;
    std::shared_ptr<const std::function<void()>> ready;
    {
      std::lock_guard sl(s->mu_);
      s->queue_.push_back(e);
      ready = s->ready_;
    }
    s->cv_.notify_one();
    if (ready) (*ready)();
  };
  for (const auto& s : everyone_) deliver(s);
  if (e.error) {
    for (const auto& [node, subs] : by_node_) {
      for (const auto& s : subs) deliver(s);
    }
    return;
  }
  const std::string& node = NodeOf(*e.object);
  if (node.empty()) return;
  if (auto it = by_node_.find(node); it != by_node_.end()) {
    for (const auto& s : it->second) deliver(s);
  }
}

void WatchCache::Run() {
  while (!stop_) {
    auto events = stream_->Next(std::chrono::milliseconds(200));
    if (!events.ok()) {
      if (!stop_)
        log::Error("watch cache stopped",
                   {{"prefix", prefix_}, {"error", events.error().ToString()}});
      return;
    }
    for (const Event& ev : *events) {
      auto object = decode_(ev.kv);
      DecodedEvent d;
      d.deleted = ev.type == Event::Type::kDelete;
      if (object.ok()) {
        d.object = std::make_shared<const v1::Object>(std::move(*object));
      } else {
        log::Error("watch cache: undecodable object",
                   {{"key", ev.kv.key}, {"error", object.error().ToString()}});
        d.error = std::make_shared<const Error>(object.error());
      }
      d.mod_revision = ev.kv.mod_revision;
      d.create_revision = ev.kv.create_revision;
      std::lock_guard lock(mu_);
      Dispatch(d);
      history_.push_back(std::move(d));
      while (history_.size() > history_limit_) {
        covered_from_ = history_.front().mod_revision;
        history_.pop_front();
      }
    }
  }
}

}  // namespace berth::control::detail
