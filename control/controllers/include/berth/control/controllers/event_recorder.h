// Events: why things happen ("Scheduled", "FailedScheduling", "Killing",
// "ScalingReplicaSet", "NodeNotReady"), recorded as Event objects in the
// namespace of the object they are about. Like client-go's recorder, the
// write is asynchronous and best-effort: a bounded queue drained by one
// thread, so a controller never waits for an event's disk sync; repeats of
// the same (object, type, reason, message) are one Event with a count.
//
// Thread-safe. Events never carry object contents (and so never secret
// data): only the reason and the caller's message.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "berth/control/registry.h"

namespace berth::control {

class EventRecorder {
 public:
  EventRecorder(Registry& registry, std::string component, size_t max_queued = 10000);
  ~EventRecorder();  // writes what is queued, then stops
  EventRecorder(const EventRecorder&) = delete;
  EventRecorder& operator=(const EventRecorder&) = delete;

  void Normal(const v1::Object& about, std::string reason, std::string message);
  void Warning(const v1::Object& about, std::string reason, std::string message);
  // Blocks until everything queued before the call is written.
  void Flush();
  // Events dropped because the queue was full.
  uint64_t Dropped() const;

 private:
  struct Pending {
    v1::ObjectReference about;
    std::string type, reason, message;
  };
  void Record(const v1::Object& about, std::string type, std::string reason, std::string message);
  void Run();
  void Write(const Pending& event);

  Registry& registry_;
  std::string component_;
  size_t max_queued_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable idle_cv_;
  std::deque<Pending> queue_;
  bool writing_ = false;
  bool stop_ = false;
  uint64_t dropped_ = 0;
  std::thread thread_;
};

}  // namespace berth::control
