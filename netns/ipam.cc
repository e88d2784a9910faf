#include "berth/netns/ipam.h"

#include <fcntl.h>
#include <unistd.h>

#include <sys/file.h>

#include <algorithm>
#include <cerrno>

#include "berth/common/file.h"
#include "berth/common/unique_fd.h"

namespace berth::netns {
namespace {

namespace fs = std::filesystem;

constexpr const char* kLockFile = ".lock";
constexpr const char* kLastFile = ".last";

// "10.1.0.0/24" -> "10.1.0.0_24": one directory per range.
std::string DirName(const IpPrefix& p) {
  std::string s = p.Network().String();
  std::replace(s.begin(), s.end(), '/', '_');
  return s;
}

// Holds flock(2) on the range's lock file.
Result<UniqueFd> Lock(const fs::path& dir) {
  BERTH_ASSIGN_OR_RETURN(UniqueFd fd,
                         OpenFile(dir / kLockFile, O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  int rc;
  do {
    rc = ::flock(fd.get(), LOCK_EX);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) return Error::FromErrno("flock " + (dir / kLockFile).string());
  return fd;
}

// First and last offsets a pod may get.
std::pair<uint64_t, uint64_t> Usable(const IpPrefix& p) {
  const uint64_t size = p.Size();
  const uint64_t last = p.address.is_v4() ? size - 2 : size - 1;  // IPv4: no broadcast
  return {2, last};                                               // 0 network, 1 gateway
}

}  // namespace

Result<Ipam> Ipam::Open(const fs::path& dir, const IpPrefix& range) {
  const int max = range.address.is_v4() ? 30 : 126;
  if (range.length > max) {
    return Error::Invalid("pod CIDR " + range.String() + " is too small: use a /" +
                          std::to_string(max) + " or larger");
  }
  fs::path d = dir / DirName(range);
  BERTH_TRY(MakeDirs(d, 0700));
  return Ipam(std::move(d), range.Network());
}

Result<std::map<IpAddress, std::string>> Ipam::List() const {
  std::map<IpAddress, std::string> out;
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir_, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    auto addr = IpAddress::Parse(it->path().filename().string());
    if (!addr.ok()) continue;  // .lock, .last, temp files
    BERTH_ASSIGN_OR_RETURN(std::string owner, ReadFile(it->path()));
    out[*addr] = std::string(Trim(owner));
  }
  if (ec) return Error::Sys(ec.value(), "list " + dir_.string());
  return out;
}

Result<IpAddress> Ipam::Allocate(const std::string& owner) {
  BERTH_ASSIGN_OR_RETURN(UniqueFd lock, Lock(dir_));
  BERTH_ASSIGN_OR_RETURN(auto taken, List());
  for (const auto& [addr, who] : taken) {
    if (who == owner) return addr;
  }
  const auto [first, last] = Usable(range_);
  uint64_t start = first;
  if (auto prev = ReadFile(dir_ / kLastFile); prev.ok()) {
    auto a = IpAddress::Parse(Trim(*prev));
    if (a.ok() && range_.Contains(*a)) start = range_.OffsetOf(*a) + 1;
  }
  if (start < first || start > last) start = first;
  const uint64_t count = last - first + 1;
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t off = start + i;
    if (off > last) off = first + (off - last - 1) % count;
    const IpAddress candidate = range_.Nth(off);
    if (taken.count(candidate)) continue;
    const fs::path file = dir_ / candidate.String();
    auto fd = OpenFile(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (!fd.ok()) {
      if (fd.error().err() == EEXIST) continue;  // another allocator without the lock
      return std::move(fd).error();
    }
    const std::string data = owner + "\n";
    if (::write(fd->get(), data.data(), data.size()) != static_cast<ssize_t>(data.size()) ||
        ::fsync(fd->get()) < 0) {
      Error e = Error::FromErrno("write " + file.string());
      ::unlink(file.c_str());
      return e;
    }
    BERTH_TRY(WriteFileAtomic(dir_ / kLastFile, candidate.String() + "\n", 0600));
    return candidate;
  }
  return Error::Sys(ENOSPC, "pod CIDR " + range_.String() + " is exhausted: all " +
                                std::to_string(count) + " pod addresses are allocated");
}

Status Ipam::Release(const std::string& owner) {
  BERTH_ASSIGN_OR_RETURN(UniqueFd lock, Lock(dir_));
  BERTH_ASSIGN_OR_RETURN(auto taken, List());
  for (const auto& [addr, who] : taken) {
    if (who != owner) continue;
    const fs::path file = dir_ / addr.String();
    if (::unlink(file.c_str()) < 0 && errno != ENOENT) {
      return Error::FromErrno("unlink " + file.string());
    }
  }
  return {};
}

}  // namespace berth::netns
