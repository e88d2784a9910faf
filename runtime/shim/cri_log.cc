#include "berth/runtime/shim/cri_log.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <utility>

namespace berth::runtime::shim {
namespace {

constexpr int64_t kNanosPerSecond = 1'000'000'000;
// "+292277026596-12-04T15:30:07.999999999Z" is the longest int64 time.
constexpr size_t kTimeBufSize = 48;

// Formats into `buf` without allocating: the writer stamps every record.
size_t FormatTime(int64_t time_ns, char (&buf)[kTimeBufSize]) {
  // Floor division, so times before the epoch keep a non-negative fraction.
  int64_t sec = time_ns / kNanosPerSecond;
  int64_t nsec = time_ns % kNanosPerSecond;
  if (nsec < 0) {
    nsec += kNanosPerSecond;
    --sec;
  }
  time_t t = static_cast<time_t>(sec);
  struct tm tm {};
  if (gmtime_r(&t, &tm) == nullptr) {
    // EOVERFLOW: the year does not fit in an int; no realistic clock gets here.
    tm = {};
    tm.tm_year = 70;
    tm.tm_mday = 1;
  }
  int n = snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900,
                   tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                   static_cast<long long>(nsec));
  if (n < 0) return 0;
  return static_cast<size_t>(n) < sizeof(buf) ? static_cast<size_t>(n) : sizeof(buf) - 1;
}

Result<UniqueFd> OpenLogFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640));
  if (!fd) return Error::FromErrno("open " + path);
  return fd;
}

Result<uint64_t> FileSize(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) < 0) return Error::FromErrno("fstat " + path);
  return static_cast<uint64_t>(st.st_size);
}

// A regular file takes the whole record in one write(2); the loop only
// matters after EINTR or a short write (e.g. the disk filled mid-record),
// where finishing the record beats leaving half of it for readers.
Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::FromErrno("write " + path);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Ok();
}

std::string RotatedName(const std::string& path, int index) {
  return path + "." + std::to_string(index);
}

}  // namespace

std::string_view LogStreamName(LogStream stream) {
  return stream == LogStream::kStdout ? "stdout" : "stderr";
}

std::string FormatRfc3339Nano(int64_t time_ns) {
  char buf[kTimeBufSize];
  size_t n = FormatTime(time_ns, buf);
  return std::string(buf, n);
}

int64_t RealtimeNanos() {
  struct timespec ts {};
  // clock_gettime(CLOCK_REALTIME) cannot fail with a valid clock id and pointer.
  (void)clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * kNanosPerSecond + ts.tv_nsec;
}

Result<CriLogWriter> CriLogWriter::Open(CriLogOptions options) {
  if (options.path.empty()) return Error::Invalid("CRI log: empty path");
  if (options.max_files < 1) {
    return Error::Invalid("CRI log " + options.path + ": max_files must be at least 1");
  }
  if (options.max_line == 0) {
    return Error::Invalid("CRI log " + options.path + ": max_line must be at least 1");
  }
  if (options.max_bytes == 0) {
    return Error::Invalid("CRI log " + options.path + ": max_bytes must be at least 1");
  }
  BERTH_ASSIGN_OR_RETURN(UniqueFd fd, OpenLogFile(options.path));
  // Appending to a file left by an earlier shim: rotation counts its bytes too.
  BERTH_ASSIGN_OR_RETURN(uint64_t size, FileSize(fd.get(), options.path));
  return CriLogWriter(std::move(options), std::move(fd), size);
}

std::string& CriLogWriter::Pending(LogStream stream) {
  return stream == LogStream::kStdout ? pending_stdout_ : pending_stderr_;
}

Status CriLogWriter::Write(LogStream stream, std::string_view bytes, int64_t time_ns) {
  std::string& pending = Pending(stream);
  Status first_error;
  auto keep_first = [&first_error](Status s) {
    if (!s.ok() && first_error.ok()) first_error = std::move(s);
  };

  size_t pos = 0;
  for (size_t nl = bytes.find('\n'); nl != std::string_view::npos; nl = bytes.find('\n', pos)) {
    std::string_view piece = bytes.substr(pos, nl - pos);
    if (pending.empty()) {
      keep_first(WriteLine(stream, piece, time_ns));
    } else {
      pending.append(piece);
      keep_first(WriteLine(stream, pending, time_ns));
      pending.clear();
    }
    pos = nl + 1;
  }
  if (pos < bytes.size()) {
    pending.append(bytes.substr(pos));
    // Like containerd's CRI logger, an unterminated line is cut as soon as it
    // exceeds max_line rather than held until its newline, which bounds the
    // memory a container can make the shim hold. A line of exactly max_line
    // bytes waits: its newline may still come and make it one F record.
    size_t done = 0;
    while (pending.size() - done > options_.max_line) {
      keep_first(WriteRecord(stream, 'P', std::string_view(pending).substr(done, options_.max_line),
                             time_ns));
      done += options_.max_line;
    }
    pending.erase(0, done);
  }
  return first_error;
}

Status CriLogWriter::Flush(LogStream stream, int64_t time_ns) {
  std::string& pending = Pending(stream);
  if (pending.empty()) return Ok();
  // containerd's redirectLogs writes the content left at EOF with the P tag
  // ("it should be treated as a partial line"): the line never got its
  // newline, and a reader must not invent one. We do the same.
  Status s = WriteRecord(stream, 'P', pending, time_ns);
  pending.clear();
  return s;
}

Status CriLogWriter::WriteLine(LogStream stream, std::string_view line, int64_t time_ns) {
  Status first_error;
  while (line.size() > options_.max_line) {
    Status s = WriteRecord(stream, 'P', line.substr(0, options_.max_line), time_ns);
    if (!s.ok() && first_error.ok()) first_error = std::move(s);
    line.remove_prefix(options_.max_line);
  }
  Status s = WriteRecord(stream, 'F', line, time_ns);
  if (!s.ok() && first_error.ok()) first_error = std::move(s);
  return first_error;
}

Status CriLogWriter::WriteRecord(LogStream stream, char tag, std::string_view content,
                                 int64_t time_ns) {
  char time_buf[kTimeBufSize];
  size_t time_len = FormatTime(time_ns, time_buf);
  // The whole record is built first so it reaches the file in one write(2):
  // with O_APPEND a concurrent reader sees either none or all of it.
  record_.clear();
  record_.append(time_buf, time_len);
  record_.push_back(' ');
  record_.append(LogStreamName(stream));
  record_.push_back(' ');
  record_.push_back(tag);
  record_.push_back(' ');
  record_.append(content);
  record_.push_back('\n');

  Status rotate_error;
  if (size_ > 0 && size_ + record_.size() > options_.max_bytes) {
    // If rotation fails the record still goes to the current file: a full or
    // read-only directory should not also lose the container's output.
    rotate_error = Rotate();
  }
  Status written = WriteAll(fd_.get(), record_, options_.path);
  if (!written.ok()) return written;
  size_ += record_.size();
  return rotate_error;
}

Status CriLogWriter::Rotate() {
  const std::string& path = options_.path;
  if (options_.max_files == 1) {
    if (::unlink(path.c_str()) < 0 && errno != ENOENT) {
      return Error::FromErrno("rotate " + path + ": unlink");
    }
  } else {
    for (int i = options_.max_files - 2; i >= 1; --i) {
      std::string from = RotatedName(path, i);
      std::string to = RotatedName(path, i + 1);
      // ENOENT: the rotation chain is not full yet.
      if (::rename(from.c_str(), to.c_str()) < 0 && errno != ENOENT) {
        const int err = errno;
        std::string what = "rotate " + path;
        what.append(": rename ").append(from).append(" to ").append(to);
        return Error::Sys(err, std::move(what));
      }
    }
    std::string first = RotatedName(path, 1);
    if (::rename(path.c_str(), first.c_str()) < 0) {
      return Error::FromErrno("rotate " + path + ": rename to " + first);
    }
  }
  // Until the new file opens, records keep going to the old one (now path.1).
  BERTH_ASSIGN_OR_RETURN(UniqueFd fd, OpenLogFile(path));
  BERTH_ASSIGN_OR_RETURN(uint64_t size, FileSize(fd.get(), path));
  fd_ = std::move(fd);
  size_ = size;
  return Ok();
}

}  // namespace berth::runtime::shim
