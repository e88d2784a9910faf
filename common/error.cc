#include "berth/common/error.h"

#include <cstring>

namespace berth {

Error Error::Sys(int err, std::string what) {
  Error e;
  e.errno_ = err;
  e.frames_.push_back(std::move(what));
  return e;
}

Error&& Error::Wrap(std::string context) && {
  frames_.push_back(std::move(context));
  return std::move(*this);
}

Error& Error::Wrap(std::string context) & {
  frames_.push_back(std::move(context));
  return *this;
}

std::string Error::Chain() const {
  std::string out;
  for (auto it = frames_.rbegin(); it != frames_.rend(); ++it) {
    if (!out.empty()) out += ": ";
    out += *it;
  }
  return out;
}

std::string Error::ToString() const {
  std::string out = Chain();
  if (errno_ != 0) {
    out += ": ";
    out += std::strerror(errno_);
    out += " (";
    out += ErrnoName(errno_);
    out += ")";
  }
  return out;
}

const char* ErrnoName(int err) {
  // strerrorname_np needs glibc 2.32; Debian 12 ships 2.36.
  const char* name = strerrordesc_np(err) != nullptr ? strerrorname_np(err) : nullptr;
  if (name != nullptr) return name;
  thread_local char buf[16];
  (void)snprintf(buf, sizeof(buf), "E%d", err);
  return buf;
}

}  // namespace berth
