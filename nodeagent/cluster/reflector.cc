#include "reflector.h"

#include <cerrno>
#include <thread>

#include "berth/api/kinds.h"
#include "berth/common/log.h"

namespace berth::nodeagent {

Reflector::Reflector(api::ControlClient& client, ReflectorOptions options, Handler on_change)
    : client_(client), options_(std::move(options)), on_change_(std::move(on_change)) {}

std::string Reflector::KeyOf(const v1::Object& object) {
  const v1::ObjectMeta& m = api::MetaOf(object);
  return m.namespace_() + "/" + m.name();
}

Status Reflector::List() {
  ObjectMap fresh;
  v1::ListRequest req;
  req.set_kind(options_.kind);
  req.set_all_namespaces(true);
  req.set_field_selector(options_.field_selector);
  req.set_limit(500);
  std::string revision;
  do {
    BERTH_ASSIGN_OR_RETURN(v1::ListResponse page, client_.List(req));
    for (auto& item : *page.mutable_items()) {
      std::string key = KeyOf(item);
      fresh[std::move(key)] = std::move(item);
    }
    if (revision.empty()) revision = page.resource_version();
    req.set_continue_(page.continue_());
  } while (!req.continue_().empty() && !stop_);
  objects_ = std::move(fresh);
  revision_ = revision;
  synced_ = true;
  on_change_(objects_, nullptr);
  return {};
}

Status Reflector::Watch() {
  v1::WatchRequest req;
  req.set_kind(options_.kind);
  req.set_all_namespaces(true);
  req.set_field_selector(options_.field_selector);
  req.set_resource_version(revision_);
  req.set_bookmark_seconds(30);
  BERTH_ASSIGN_OR_RETURN(auto watch, client_.Watch(req));
  {
    std::lock_guard lock(mu_);
    watch_ = watch.get();
    if (stop_) watch_->Cancel();
  }
  Status ended;
  while (true) {
    auto event = watch->Next();
    if (!event.ok()) {
      ended = event.error();
      break;
    }
    if (!event->has_value()) break;
    const v1::WatchEvent& e = **event;
    revision_ = e.resource_version();
    if (e.type() == "BOOKMARK") continue;
    const std::string key = KeyOf(e.object());
    if (e.type() == "DELETED") {
      objects_.erase(key);
    } else {
      objects_[key] = e.object();
    }
    on_change_(objects_, &e);
  }
  {
    std::lock_guard lock(mu_);
    watch_ = nullptr;
  }
  if (!ended.ok() && ended.error().err() == ERANGE) revision_.clear();
  return ended;
}

Status Reflector::Run() {
  auto backoff = std::chrono::milliseconds(200);
  while (!stop_) {
    Status s = revision_.empty() ? List() : Watch();
    if (stop_) break;
    if (s.ok()) {
      backoff = std::chrono::milliseconds(200);
      continue;  // listed: watch next; a stream that ended cleanly: resume
    }
    if (s.error().err() == EACCES) return s;
    if (s.error().err() != ERANGE) {
      log::Warn("watch interrupted; retrying",
                {{"kind", options_.kind}, {"error", s.error().ToString()}});
      for (auto slept = std::chrono::milliseconds(0); slept < backoff && !stop_;
           slept += std::chrono::milliseconds(50)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
    }
  }
  return {};
}

void Reflector::Stop() {
  stop_ = true;
  std::lock_guard lock(mu_);
  if (watch_ != nullptr) watch_->Cancel();
}

}  // namespace berth::nodeagent
