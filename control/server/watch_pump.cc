#include "watch_pump.h"

#include <cerrno>

#include "berth/api/grpc_status.h"

namespace berth::control {
namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kBookmarkScan = std::chrono::seconds(1);

const char* EventType(ObjectEvent::Type type) {
  switch (type) {
    case ObjectEvent::Type::kAdded:
      return "ADDED";
    case ObjectEvent::Type::kModified:
      return "MODIFIED";
    case ObjectEvent::Type::kDeleted:
      return "DELETED";
  }
  return "MODIFIED";
}

int64_t Ticks(Clock::time_point t) { return t.time_since_epoch().count(); }

}  // namespace

class WatchPump::Stream : public grpc::ServerWriteReactor<v1::WatchEvent> {
 public:
  Stream(WatchPump& pump, std::unique_ptr<ObjectWatch> watch, std::chrono::seconds bookmark_every)
      : pump_(pump), watch_(std::move(watch)), bookmark_every_(bookmark_every) {
    next_bookmark_ = bookmark_every_.count() > 0 ? Ticks(Clock::now() + bookmark_every_) : -1;
  }

  // Takes gRPC's reference and starts listening; a pump that has stopped
  // finishes the stream at once.
  void Begin(std::shared_ptr<Stream> self, bool stopped) {
    self_ = self;
    if (stopped) {
      End(grpc::Status::OK);
      return;
    }
    std::weak_ptr<Stream> weak = self;
    WatchPump* pump = &pump_;
    watch_->SetReadyCallback([pump, weak] {
      if (auto stream = weak.lock()) pump->Post(stream);
    });
  }

  // On a pump thread: whatever the watch holds becomes writes.
  void Drain() {
    std::lock_guard lock(mu_);
    if (finishing_) return;
    auto events = watch_->Next(std::chrono::milliseconds(0));
    if (!events.ok()) {
      FinishLocked(events.error().err() == ECANCELED ? grpc::Status::OK
                                                     : api::ToGrpcStatus(events.error()));
      return;
    }
    for (auto& e : *events) {
      v1::WatchEvent& out = out_.emplace_back();
      out.set_type(EventType(e.type));
      out.set_resource_version(std::to_string(e.revision));
      *out.mutable_object() = std::move(e.object);
    }
    const Clock::time_point now = Clock::now();
    if (BookmarkDue(now)) {
      v1::WatchEvent& bookmark = out_.emplace_back();
      bookmark.set_type("BOOKMARK");
      bookmark.set_resource_version(std::to_string(watch_->Revision()));
      next_bookmark_ = Ticks(now + bookmark_every_);
    }
    WriteLocked();
  }

  bool BookmarkDue(Clock::time_point now) const {
    const int64_t due = next_bookmark_;
    return due >= 0 && Ticks(now) >= due;
  }

  void End(const grpc::Status& status) {
    std::lock_guard lock(mu_);
    FinishLocked(status);
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mu_);
    writing_ = false;
    out_.pop_front();
    if (!ok) {  // the client went away
      FinishLocked(grpc::Status::OK);
      return;
    }
    if (finishing_) {
      SendFinishLocked();
      return;
    }
    WriteLocked();
  }

  void OnCancel() override { End(grpc::Status::OK); }

  void OnDone() override {
    {
      std::lock_guard lock(mu_);
      finishing_ = true;
      finish_sent_ = true;
    }
    pump_.Forget(this);
    self_.reset();  // may destroy this stream: nothing after it
  }

  bool queued = false;  // in the pump's ready queue; guarded by the pump's mutex

 private:
  void WriteLocked() {
    if (writing_ || out_.empty()) return;
    writing_ = true;
    StartWrite(&out_.front());
  }

  // Finishes after the write in flight, if any (one operation of a kind at
  // a time).
  void FinishLocked(const grpc::Status& status) {
    if (finishing_) return;
    finishing_ = true;
    final_ = status;
    watch_->Cancel();
    if (!writing_) SendFinishLocked();
  }

  void SendFinishLocked() {
    if (finish_sent_) return;
    finish_sent_ = true;
    Finish(final_);
  }

  WatchPump& pump_;
  std::mutex mu_;
  std::unique_ptr<ObjectWatch> watch_;
  const std::chrono::seconds bookmark_every_;
  std::atomic<int64_t> next_bookmark_;  // steady ticks; -1: no bookmarks
  std::deque<v1::WatchEvent> out_;      // front: the write in flight
  bool writing_ = false;
  bool finishing_ = false;
  bool finish_sent_ = false;
  grpc::Status final_;
  std::shared_ptr<Stream> self_;  // gRPC's reference, until OnDone
};

WatchPump::WatchPump(int threads) {
  for (int i = 0; i < std::max(1, threads); ++i) threads_.emplace_back([this] { Run(); });
}

WatchPump::~WatchPump() {
  Stop();
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

grpc::ServerWriteReactor<v1::WatchEvent>* WatchPump::Serve(std::unique_ptr<ObjectWatch> watch,
                                                           std::chrono::seconds bookmark_every) {
  auto stream = std::make_shared<Stream>(*this, std::move(watch), bookmark_every);
  bool stopped = false;
  {
    std::lock_guard lock(mu_);
    stopped = stop_;
    if (!stopped) streams_.insert(stream);
  }
  stream->Begin(stream, stopped);
  return stream.get();
}

size_t WatchPump::Streams() const {
  std::lock_guard lock(mu_);
  return streams_.size();
}

void WatchPump::Stop() {
  std::vector<std::shared_ptr<Stream>> open;
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    open.assign(streams_.begin(), streams_.end());
  }
  // Outside the pump's lock: finishing cancels the watch, whose callback
  // posts to the pump.
  for (const auto& s : open) s->End(grpc::Status::OK);
}

void WatchPump::Post(const std::shared_ptr<Stream>& stream) {
  {
    std::lock_guard lock(mu_);
    if (stream->queued) return;
    stream->queued = true;
    ready_.push_back(stream);
  }
  cv_.notify_one();
}

void WatchPump::Forget(const Stream* stream) {
  std::lock_guard lock(mu_);
  for (auto it = streams_.begin(); it != streams_.end(); ++it) {
    if (it->get() == stream) {
      streams_.erase(it);
      return;
    }
  }
}

void WatchPump::Run() {
  std::unique_lock lock(mu_);
  auto next_scan = Clock::now() + kBookmarkScan;
  while (!stop_ || !ready_.empty()) {
    if (ready_.empty()) cv_.wait_until(lock, next_scan);
    const auto now = Clock::now();
    if (now >= next_scan) {
      next_scan = now + kBookmarkScan;
      for (const auto& s : streams_) {
        if (!s->queued && s->BookmarkDue(now)) {
          s->queued = true;
          ready_.push_back(s);
        }
      }
    }
    if (ready_.empty()) continue;
    std::shared_ptr<Stream> stream = std::move(ready_.front());
    ready_.pop_front();
    stream->queued = false;
    lock.unlock();
    stream->Drain();
    stream.reset();  // may be the last reference: drop it unlocked
    lock.lock();
  }
}

}  // namespace berth::control
