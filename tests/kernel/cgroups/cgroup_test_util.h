// Helpers shared by the cgroup kernel tests and the cgroup2 (vmtest) tests:
// child processes that are always killed and reaped, a busy counter in
// shared memory to observe progress, and per-run cgroup names.
#pragma once

#include <signal.h>
#include <unistd.h>

#include <sys/mman.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <thread>

namespace berth::cgroups::testing {

// "<prefix>-<pid>-<random>": unique per run, so parallel runs and leftovers
// of a crashed run never collide.
inline std::string PerRunName(const std::string& prefix) {
  std::random_device rd;
  return prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(rd() % 1000000);
}

// A forked child running `body` (which must not return into the test
// framework: _exit is called if it does). SIGKILLed and reaped on
// destruction unless already reaped by Wait().
class Child {
 public:
  explicit Child(const std::function<void()>& body) {
    pid_ = ::fork();
    if (pid_ == 0) {
      body();
      ::_exit(0);
    }
  }
  ~Child() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      int status;
      ::waitpid(pid_, &status, 0);
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  bool started() const { return pid_ > 0; }

  // Reaps the child; returns its wait status.
  int Wait() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    reaped_ = true;
    return status;
  }

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
};

inline void SleepForever() {
  for (;;) ::pause();
}

// A counter in anonymous shared memory that a child increments in a loop.
class SharedCounter {
 public:
  SharedCounter() {
    void* p = ::mmap(nullptr, sizeof(std::atomic<uint64_t>), PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    counter_ = p == MAP_FAILED ? nullptr : new (p) std::atomic<uint64_t>(0);
  }
  ~SharedCounter() {
    if (counter_ != nullptr) ::munmap(counter_, sizeof(*counter_));
  }
  SharedCounter(const SharedCounter&) = delete;
  SharedCounter& operator=(const SharedCounter&) = delete;

  bool ok() const { return counter_ != nullptr; }
  uint64_t value() const { return counter_->load(); }
  [[noreturn]] void SpinForever() const {
    for (;;) counter_->fetch_add(1, std::memory_order_relaxed);
  }

  // True when the counter moves past its current value within `within`.
  bool Advances(std::chrono::milliseconds within) const {
    uint64_t start = value();
    auto deadline = std::chrono::steady_clock::now() + within;
    while (std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      if (value() != start) return true;
    }
    return false;
  }

 private:
  std::atomic<uint64_t>* counter_ = nullptr;
};

}  // namespace berth::cgroups::testing
