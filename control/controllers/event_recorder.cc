#include "berth/control/controllers/event_recorder.h"

#include <cerrno>
#include <cstdio>

#include "berth/api/kinds.h"
#include "berth/common/log.h"

namespace berth::control {
namespace {

// FNV-1a: a stable name for "the same event" across restarts.
uint64_t Fnv1a(std::string_view text, uint64_t h = 1469598103934665603ULL) {
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

google::protobuf::Timestamp Now() {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::system_clock::now().time_since_epoch());
  google::protobuf::Timestamp t;
  t.set_seconds(ns.count() / 1000000000);
  t.set_nanos(static_cast<int32_t>(ns.count() % 1000000000));
  return t;
}

}  // namespace

EventRecorder::EventRecorder(Registry& registry, std::string component, size_t max_queued)
    : registry_(registry), component_(std::move(component)), max_queued_(max_queued) {
  thread_ = std::thread([this] { Run(); });
}

EventRecorder::~EventRecorder() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void EventRecorder::Normal(const v1::Object& about, std::string reason, std::string message) {
  Record(about, "Normal", std::move(reason), std::move(message));
}

void EventRecorder::Warning(const v1::Object& about, std::string reason, std::string message) {
  Record(about, "Warning", std::move(reason), std::move(message));
}

void EventRecorder::Record(const v1::Object& about, std::string type, std::string reason,
                           std::string message) {
  const api::KindInfo* kind = api::KindOf(about);
  if (kind == nullptr) return;
  const auto& meta = api::MetaOf(about);
  Pending p;
  p.about.set_kind(std::string(kind->kind));
  p.about.set_api_version(std::string(kind->api_version));
  p.about.set_namespace_(meta.namespace_());
  p.about.set_name(meta.name());
  p.about.set_uid(meta.uid());
  p.type = std::move(type);
  p.reason = std::move(reason);
  p.message = std::move(message);
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= max_queued_) {
      ++dropped_;
      return;
    }
    queue_.push_back(std::move(p));
  }
  cv_.notify_one();
}

void EventRecorder::Flush() {
  std::unique_lock lock(mu_);
  idle_cv_.wait(lock, [this] { return queue_.empty() && !writing_; });
}

uint64_t EventRecorder::Dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

void EventRecorder::Run() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping with nothing left
    Pending p = std::move(queue_.front());
    queue_.pop_front();
    writing_ = true;
    lock.unlock();
    Write(p);
    lock.lock();
    writing_ = false;
    if (queue_.empty()) idle_cv_.notify_all();
  }
}

void EventRecorder::Write(const Pending& p) {
  // Events of cluster-scoped objects (nodes) live in "default", as in
  // Kubernetes.
  const std::string ns = p.about.namespace_().empty() ? "default" : p.about.namespace_();
  uint64_t h = Fnv1a(p.about.uid());
  for (const auto* part : {&p.type, &p.reason, &p.message}) h = Fnv1a(*part, Fnv1a("\n", h));
  char suffix[17];
  (void)std::snprintf(suffix, sizeof suffix, "%016llx", static_cast<unsigned long long>(h));
  const std::string name = p.about.name() + "." + suffix;
  const auto now = Now();
  auto bumped = registry_.Modify({"Event", ns, name}, [&](v1::Object& o) {
    auto* ev = o.mutable_event();
    ev->set_count(ev->count() + 1);
    *ev->mutable_last_timestamp() = now;
    return true;
  });
  if (bumped.ok()) return;
  if (bumped.error().err() != ENOENT) {
    log::Warn("event not recorded", {{"reason", p.reason}, {"error", bumped.error().ToString()}});
    return;
  }
  v1::Object o;
  auto* ev = o.mutable_event();
  ev->mutable_metadata()->set_name(name);
  ev->mutable_metadata()->set_namespace_(ns);
  *ev->mutable_involved_object() = p.about;
  ev->set_reason(p.reason);
  ev->set_message(p.message);
  ev->set_type(p.type);
  ev->set_count(1);
  ev->mutable_source()->set_component(component_);
  ev->set_reporting_component(component_);
  *ev->mutable_first_timestamp() = now;
  *ev->mutable_last_timestamp() = now;
  auto created = registry_.Create(std::move(o));
  if (!created.ok()) {
    log::Warn("event not recorded", {{"reason", p.reason}, {"error", created.error().ToString()}});
  }
}

}  // namespace berth::control
