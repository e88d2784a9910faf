// Watch streams on gRPC's callback API, without a thread per stream.
//
// A synchronous gRPC handler keeps a thread blocked for as long as its
// stream lasts, and every node keeps a pod watch open: thousands of nodes
// meant thousands of threads waking each other. Here each stream is a
// ServerWriteReactor. Its ObjectWatch calls back when events are waiting
// (SetReadyCallback); the callback only queues the stream, and a few pump
// threads drain queued streams into writes, one write in flight per stream
// as gRPC requires. Pump threads also send each stream's bookmarks when
// they are due.
//
// Thread-safe. Stop() finishes every stream with OK, as a server shutdown
// ends watches; the pump must outlive the gRPC server's Shutdown (every
// stream's OnDone).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "control.pb.h"

#include "berth/control/registry.h"

namespace berth::control {

class WatchPump {
 public:
  explicit WatchPump(int threads);
  ~WatchPump();
  WatchPump(const WatchPump&) = delete;
  WatchPump& operator=(const WatchPump&) = delete;

  // A reactor that streams `watch`'s events, and a bookmark every
  // `bookmark_every` when that is positive. gRPC holds it until its OnDone.
  grpc::ServerWriteReactor<v1::WatchEvent>* Serve(std::unique_ptr<ObjectWatch> watch,
                                                  std::chrono::seconds bookmark_every);
  // Streams open now.
  size_t Streams() const;
  // Finishes every stream and refuses new ones (they finish at once).
  void Stop();

 private:
  class Stream;
  void Post(const std::shared_ptr<Stream>& stream);
  void Forget(const Stream* stream);
  void Run();

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Stream>> ready_;
  std::set<std::shared_ptr<Stream>> streams_;
  std::vector<std::thread> threads_;
  bool stop_ = false;
};

}  // namespace berth::control
