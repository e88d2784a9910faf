#include "watch_hub.h"

namespace berth::control {
namespace {

class HubStream final : public WatchStream {
 public:
  HubStream(std::weak_ptr<WatchHub> hub, std::shared_ptr<WatchHub::Watcher> w)
      : hub_(std::move(hub)), w_(std::move(w)) {}
  ~HubStream() override { Cancel(); }

  Result<std::vector<Event>> Next(std::chrono::milliseconds timeout) override {
    std::unique_lock lock(w_->mu);
    w_->cv.wait_for(lock, timeout, [&] { return w_->cancelled || !w_->queue.empty(); });
    if (w_->cancelled) return Error::Sys(ECANCELED, "watch cancelled");
    std::vector<Event> out(std::make_move_iterator(w_->queue.begin()),
                           std::make_move_iterator(w_->queue.end()));
    w_->queue.clear();
    return out;
  }

  void Cancel() override {
    std::shared_ptr<const std::function<void()>> ready;
    {
      std::lock_guard lock(w_->mu);
      w_->cancelled = true;
      ready = w_->ready;
    }
    w_->cv.notify_all();
    if (auto hub = hub_.lock()) hub->Remove(w_);
    hub_.reset();
    if (ready) (*ready)();
  }

  void SetReadyCallback(std::function<void()> ready) override {
    auto shared = std::make_shared<const std::function<void()>>(std::move(ready));
    bool waiting = false;
    {
      std::lock_guard lock(w_->mu);
      w_->ready = shared;
      waiting = w_->cancelled || !w_->queue.empty();
    }
    if (waiting) (*shared)();
  }

 private:
  std::weak_ptr<WatchHub> hub_;
  std::shared_ptr<WatchHub::Watcher> w_;
};

}  // namespace

WatchHub::~WatchHub() {
  std::lock_guard lock(mu_);
  for (auto& w : watchers_) {
    std::shared_ptr<const std::function<void()>> ready;
    {
      std::lock_guard wl(w->mu);
      w->cancelled = true;
      ready = w->ready;
    }
    w->cv.notify_all();
    if (ready) (*ready)();
  }
}

std::unique_ptr<WatchStream> WatchHub::Add(std::string key, std::string end,
                                           std::deque<Event> backlog) {
  auto w = std::make_shared<Watcher>();
  w->key = std::move(key);
  w->end = std::move(end);
  w->queue = std::move(backlog);
  {
    std::lock_guard lock(mu_);
    watchers_.push_back(w);
  }
  return std::make_unique<HubStream>(weak_from_this(), w);
}

void WatchHub::Publish(const std::vector<Event>& events) {
  std::lock_guard lock(mu_);
  for (auto& w : watchers_) {
    bool any = false;
    std::shared_ptr<const std::function<void()>> ready;
    {
      std::lock_guard wl(w->mu);
      for (const Event& e : events) {
        if (w->Matches(e.kv.key)) {
          w->queue.push_back(e);
          any = true;
        }
      }
      ready = w->ready;
    }
    if (!any) continue;
    w->cv.notify_all();
    if (ready) (*ready)();
  }
}

void WatchHub::Remove(const std::shared_ptr<Watcher>& w) {
  std::lock_guard lock(mu_);
  watchers_.remove(w);
}

}  // namespace berth::control
