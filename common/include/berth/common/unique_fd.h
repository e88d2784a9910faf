// UniqueFd: sole owner of one file descriptor. Move-only; closes in its
// destructor. A raw int fd elsewhere is always a borrowed parameter; hand-off
// of ownership is explicit via release(). Not thread-safe (a value type).
#pragma once

#include <unistd.h>

#include <utility>

namespace berth {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }

  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  explicit operator bool() const { return valid(); }

  // Gives up ownership without closing.
  [[nodiscard]] int release() { return std::exchange(fd_, -1); }

  void reset(int fd = -1) {
    int old = std::exchange(fd_, fd);
    // close(2): the fd is released even when close reports EINTR/EIO, so the
    // result carries nothing actionable for us.
    if (old >= 0) (void)::close(old);
  }

 private:
  int fd_ = -1;
};

}  // namespace berth
