#include "berth/control/controller.h"

#include "berth/api/kinds.h"
#include "berth/common/log.h"

namespace berth::control {
namespace {

// How long a worker waits for a key before looking at the stop flag.
constexpr std::chrono::milliseconds kPoll{100};

}  // namespace

ControllerRunner::ControllerRunner(std::string name, WorkQueue& queue, SyncFunc sync)
    : name_(std::move(name)), queue_(queue), sync_(std::move(sync)) {}

ControllerRunner::~ControllerRunner() { Stop(); }

Status ControllerRunner::Start(int workers) {
  if (workers < 1) {
    return Error::Invalid("controller " + name_ + ": workers must be at least 1, not " +
                          std::to_string(workers));
  }
  if (!workers_.empty()) return Error::Sys(EBUSY, "controller " + name_ + ": already running");
  stopping_ = false;
  workers_.reserve(static_cast<size_t>(workers));
  for (int i = 0; i < workers; ++i) workers_.emplace_back([this] { Work(); });
  return Ok();
}

void ControllerRunner::Stop() {
  stopping_ = true;
  for (auto& worker : workers_) worker.join();
  workers_.clear();
}

void ControllerRunner::Work() {
  while (!stopping_) {
    std::optional<std::string> key = queue_.Get(kPoll);
    if (!key) {
      if (queue_.ShuttingDown()) return;
      continue;
    }
    Status status = sync_(*key);
    if (status.ok()) {
      queue_.Forget(*key);
    } else {
      const auto delay = queue_.AddRateLimited(*key);
      log::Warn("sync failed; retrying", {{"controller", name_},
                                          {"key", *key},
                                          {"error", status.error().ToString()},
                                          {"retries", queue_.NumRequeues(*key)},
                                          {"retry_in_ms", static_cast<int64_t>(delay.count())}});
    }
    queue_.Done(*key);
  }
}

std::string KeyOf(const v1::Object& object) {
  const auto& meta = api::MetaOf(object);
  if (meta.namespace_().empty()) return meta.name();
  return meta.namespace_() + "/" + meta.name();
}

std::pair<std::string, std::string> SplitKey(std::string_view key) {
  const size_t slash = key.find('/');
  if (slash == std::string_view::npos) return {"", std::string(key)};
  return {std::string(key.substr(0, slash)), std::string(key.substr(slash + 1))};
}

Status WaitForInformers(std::initializer_list<const Informer*> informers,
                        std::string_view controller, std::chrono::milliseconds timeout) {
  for (const Informer* informer : informers) {
    if (!informer->WaitForSync(timeout)) {
      return Error::Sys(ETIMEDOUT, std::string(controller) + ": the " + informer->kind() +
                                       " informer did not sync (started?)");
    }
  }
  return {};
}

void PeriodicResync::Start(std::chrono::milliseconds period, std::function<void()> resync) {
  Stop();
  stop_ = false;
  thread_ = std::thread([this, period, resync = std::move(resync)] {
    auto next = std::chrono::steady_clock::now() + period;
    while (!stop_) {
      // Short sleeps: Stop() returns promptly.
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (std::chrono::steady_clock::now() < next) continue;
      resync();
      next = std::chrono::steady_clock::now() + period;
    }
  });
}

void PeriodicResync::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

}  // namespace berth::control
