#include "berth/common/file.h"

#include <fcntl.h>
#include <unistd.h>

#include <sys/stat.h>

namespace berth {

Result<UniqueFd> OpenFile(const std::filesystem::path& path, int flags, mode_t mode) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return Error::FromErrno("open " + path.string());
  return UniqueFd(fd);
}

Result<std::string> ReadFile(const std::filesystem::path& path) {
  BERTH_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_RDONLY));
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::FromErrno("read " + path.string());
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Status WriteFile(const std::filesystem::path& path, std::string_view data) {
  BERTH_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_WRONLY | O_TRUNC));
  ssize_t n;
  do {
    n = ::write(fd.get(), data.data(), data.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) return Error::FromErrno("write " + path.string());
  if (static_cast<size_t>(n) != data.size()) {
    return Error::Sys(EIO, "short write to " + path.string());
  }
  return Ok();
}

namespace {

Status WriteAndRename(const std::filesystem::path& path, std::string_view data, mode_t mode,
                      bool sync) {
  std::filesystem::path tmp = path;
  // pid and thread: two threads of one process may replace the same file.
  tmp += ".tmp." + std::to_string(::getpid()) + "." + std::to_string(::gettid());
  {
    BERTH_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode));
    size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ::write(fd.get(), data.data() + off, data.size() - off);
      if (n < 0) {
        if (errno == EINTR) continue;
        Error e = Error::FromErrno("write " + tmp.string());
        ::unlink(tmp.c_str());
        return e;
      }
      off += static_cast<size_t>(n);
    }
    if (sync && ::fsync(fd.get()) < 0) {
      Error e = Error::FromErrno("fsync " + tmp.string());
      ::unlink(tmp.c_str());
      return e;
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) < 0) {
    Error e = Error::FromErrno("rename " + tmp.string() + " to " + path.string());
    ::unlink(tmp.c_str());
    return e;
  }
  if (!sync) return Ok();
  auto dir =
      OpenFile(path.parent_path().empty() ? "." : path.parent_path(), O_RDONLY | O_DIRECTORY);
  if (!dir.ok()) return std::move(dir).error();
  if (::fsync(dir->get()) < 0) return Error::FromErrno("fsync " + path.parent_path().string());
  return Ok();
}

}  // namespace

Status WriteFileAtomic(const std::filesystem::path& path, std::string_view data, mode_t mode) {
  return WriteAndRename(path, data, mode, true);
}

Status WriteFileReplace(const std::filesystem::path& path, std::string_view data, mode_t mode) {
  return WriteAndRename(path, data, mode, false);
}

Status MakeDirs(const std::filesystem::path& path, mode_t mode) {
  std::filesystem::path cur;
  for (const auto& part : path) {
    cur /= part;
    if (cur == "/" || cur.empty()) continue;
    if (::mkdir(cur.c_str(), mode) < 0 && errno != EEXIST) {
      return Error::FromErrno("mkdir " + cur.string());
    }
  }
  return Ok();
}

std::string_view Trim(std::string_view s) {
  const char* ws = " \t\r\n";
  size_t b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

}  // namespace berth
