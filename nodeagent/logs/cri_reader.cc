#include "cri_reader.h"

#include <fcntl.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include <sys/inotify.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <ctime>
#include <set>
#include <utility>

#include "berth/common/log.h"

namespace berth::nodeagent {
namespace {

namespace fs = std::filesystem;
using runtime::shim::LogStream;

constexpr int64_t kNanosPerSecond = 1'000'000'000;
constexpr size_t kReadChunk = 64 * size_t{1024};
// How far LogFollower looks (path.1, path.2, ...) for the file it was reading
// after several rotations; the writer keeps far fewer.
constexpr int kMaxRotatedScan = 64;

// A field quoted in an error, cut so that a huge corrupt line does not end up
// whole in the message.
std::string Quote(std::string_view s) {
  constexpr size_t kMax = 64;
  std::string q = "\"";
  q.append(s.substr(0, kMax));
  if (s.size() > kMax) q.append("...");
  q.append("\"");
  return q;
}

bool ParseDigits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

bool IsLeapYear(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int year, int month) {
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month == 2 && IsLeapYear(year)) return 29;
  return kDays[static_cast<size_t>(month - 1)];
}

// RFC 3339 date-time: "YYYY-MM-DDTHH:MM:SS[.F{1,9}](Z|+HH:MM|-HH:MM)".
Result<int64_t> ParseRfc3339(std::string_view s) {
  auto bad = [&s](const std::string& why) {
    return Error::Invalid("timestamp " + Quote(s) + ": " + why);
  };
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!ParseDigits(s, 0, 4, year) || s.size() < 19 || s[4] != '-' || !ParseDigits(s, 5, 2, month) ||
      s[7] != '-' || !ParseDigits(s, 8, 2, day) || s[10] != 'T' || !ParseDigits(s, 11, 2, hour) ||
      s[13] != ':' || !ParseDigits(s, 14, 2, minute) || s[16] != ':' ||
      !ParseDigits(s, 17, 2, second)) {
    return bad("not RFC 3339 (want YYYY-MM-DDTHH:MM:SS[.fraction]Z)");
  }
  if (month < 1 || month > 12) return bad("month out of range");
  if (day < 1 || day > DaysInMonth(year, month)) return bad("day out of range");
  if (hour > 23 || minute > 59 || second > 59) return bad("time of day out of range");

  size_t pos = 19;
  int64_t nanos = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (++digits > 9) return bad("more than 9 fractional digits");
      nanos = nanos * 10 + (s[pos] - '0');
      ++pos;
    }
    if (digits == 0) return bad("no digits after '.'");
    for (size_t i = digits; i < 9; ++i) nanos *= 10;
  }

  int offset_seconds = 0;
  if (pos < s.size() && s[pos] == 'Z') {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh = 0, om = 0;
    if (!ParseDigits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !ParseDigits(s, pos + 4, 2, om)) {
      return bad("bad UTC offset (want Z or +HH:MM)");
    }
    if (oh > 23 || om > 59) return bad("UTC offset out of range");
    offset_seconds = (oh * 3600 + om * 60) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return bad("no UTC offset (want Z or +HH:MM)");
  }
  if (pos != s.size()) return bad("trailing characters");

  struct tm tm {};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  // timegm(3) reads the fields as UTC; they were range-checked above, so it
  // does not normalize anything.
  const int64_t seconds = static_cast<int64_t>(timegm(&tm)) - offset_seconds;
  int64_t ns = 0;
  if (__builtin_mul_overflow(seconds, kNanosPerSecond, &ns) ||
      __builtin_add_overflow(ns, nanos, &ns)) {
    return bad("outside the range of 64-bit nanoseconds (years 1678 to 2262)");
  }
  return ns;
}

// Counts the records a read skipped, for one warning per read.
struct Malformed {
  int64_t count = 0;
  std::string first;

  void Add(std::string why) {
    if (count++ == 0) first = std::move(why);
  }
  void Report(const fs::path& path) {
    if (count == 0) return;
    log::Warn("skipped malformed CRI log records",
              {{"path", path.string()}, {"count", count}, {"first", first}});
    count = 0;
    first.clear();
  }
};

// Calls on_record for each record in `data`, which holds whole records only.
template <typename OnRecord>
void ParseRecords(std::string_view data, Malformed& malformed, OnRecord&& on_record) {
  while (!data.empty()) {
    size_t nl = data.find('\n');
    std::string_view record = data.substr(0, nl);
    data.remove_prefix(nl == std::string_view::npos ? data.size() : nl + 1);
    Result<LogLine> line = ParseCriLine(record);
    if (line.ok()) {
      on_record(std::move(line).value());
    } else {
      malformed.Add(line.error().ToString());
    }
  }
}

Result<std::string> ReadAll(int fd, const fs::path& path) {
  std::string data;
  for (;;) {
    size_t old = data.size();
    data.resize(old + kReadChunk);
    ssize_t n = ::read(fd, data.data() + old, kReadChunk);
    if (n < 0) {
      data.resize(old);
      if (errno == EINTR) continue;
      return Error::FromErrno("read " + path.string());
    }
    data.resize(old + static_cast<size_t>(n));
    if (n == 0) return data;
  }
}

fs::path Rotated(const fs::path& path, int index) {
  fs::path p = path;
  p += "." + std::to_string(index);
  return p;
}

Result<UniqueFd> OpenForReading(const fs::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Error::FromErrno("open " + path.string());
  return fd;
}

size_t StreamIndex(LogStream s) { return s == LogStream::kStdout ? 0 : 1; }

}  // namespace

Result<LogLine> ParseCriLine(std::string_view line) {
  auto bad = [](const std::string& why) { return Error::Invalid("CRI log record: " + why); };
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);

  size_t sp = line.find(' ');
  if (sp == std::string_view::npos) return bad("no space after the timestamp");
  Result<int64_t> time = ParseRfc3339(line.substr(0, sp));
  if (!time.ok()) return std::move(time).error().Wrap("CRI log record");
  line.remove_prefix(sp + 1);

  LogLine out;
  out.time_ns = *time;
  sp = line.find(' ');
  if (sp == std::string_view::npos) return bad("no space after the stream");
  std::string_view stream = line.substr(0, sp);
  if (stream == "stdout") {
    out.stream = LogStream::kStdout;
  } else if (stream == "stderr") {
    out.stream = LogStream::kStderr;
  } else {
    return bad("stream " + Quote(stream) + " is neither stdout nor stderr");
  }
  line.remove_prefix(sp + 1);

  sp = line.find(' ');
  if (sp == std::string_view::npos) return bad("no space after the tag");
  std::string_view tag = line.substr(0, sp);
  if (tag == "P") {
    out.partial = true;
  } else if (tag != "F") {
    return bad("tag " + Quote(tag) + " is neither P nor F");
  }
  line.remove_prefix(sp + 1);

  if (line.find('\n') != std::string_view::npos) return bad("newline inside the content");
  out.content = std::string(line);
  return out;
}

Result<std::vector<LogLine>> ReadLogs(const fs::path& path, const LogQuery& query, int max_files) {
  if (query.tail_lines && *query.tail_lines < 0) {
    return Error::Invalid("read logs " + path.string() + ": negative tail");
  }
  if (max_files < 1) return Error::Invalid("read logs " + path.string() + ": max_files < 1");

  // Opened newest first and read oldest first: if the writer rotates between
  // two opens, the file just opened as `path` shows up again as path.1, and
  // the (dev, inode) check reads it once, in the right place.
  struct Source {
    fs::path name;
    UniqueFd fd;
  };
  std::vector<Source> sources;
  {
    BERTH_ASSIGN_OR_RETURN(UniqueFd fd, OpenForReading(path));
    sources.push_back({path, std::move(fd)});
  }
  for (int i = 1; i < max_files; ++i) {
    fs::path name = Rotated(path, i);
    UniqueFd fd(::open(name.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
      // ENOENT: fewer rotations so far than max_files allows.
      if (errno == ENOENT) continue;
      return Error::FromErrno("open " + name.string());
    }
    sources.push_back({std::move(name), std::move(fd)});
  }
  std::reverse(sources.begin(), sources.end());

  std::set<std::pair<dev_t, ino_t>> seen;
  std::vector<LogLine> lines;
  // Per stream, the index in `lines` of a line whose P chunks await their F.
  std::array<std::optional<size_t>, 2> open_line;
  for (const Source& src : sources) {
    struct stat st {};
    if (::fstat(src.fd.get(), &st) < 0) return Error::FromErrno("fstat " + src.name.string());
    if (!seen.insert({st.st_dev, st.st_ino}).second) continue;
    BERTH_ASSIGN_OR_RETURN(std::string data, ReadAll(src.fd.get(), src.name));

    Malformed malformed;
    size_t end = data.rfind('\n');
    end = end == std::string::npos ? 0 : end + 1;
    ParseRecords(std::string_view(data).substr(0, end), malformed, [&](LogLine&& rec) {
      std::optional<size_t>& open = open_line[StreamIndex(rec.stream)];
      if (open) {
        LogLine& joined = lines[*open];
        joined.content.append(rec.content);
        if (!rec.partial) {
          joined.partial = false;
          open.reset();
        }
        return;
      }
      if (rec.partial) open = lines.size();
      lines.push_back(std::move(rec));
    });
    if (end < data.size() && &src != &sources.back()) {
      // A rotated file gets no more writes: bytes after its last newline are a
      // record cut short (a crash or full disk). At the end of `path` they may
      // be a record being written right now, left for the next read.
      malformed.Add("CRI log record without newline at end of " + src.name.string());
    }
    malformed.Report(src.name);
  }

  if (query.since_ns) {
    const int64_t since = *query.since_ns;
    lines.erase(std::remove_if(lines.begin(), lines.end(),
                               [since](const LogLine& l) { return l.time_ns < since; }),
                lines.end());
  }
  if (query.tail_lines && static_cast<uint64_t>(*query.tail_lines) < lines.size()) {
    lines.erase(lines.begin(), lines.end() - static_cast<std::ptrdiff_t>(*query.tail_lines));
  }
  return lines;
}

Result<LogFollower> LogFollower::Open(const fs::path& path) {
  BERTH_ASSIGN_OR_RETURN(UniqueFd file, OpenForReading(path));
  struct stat st {};
  if (::fstat(file.get(), &st) < 0) return Error::FromErrno("fstat " + path.string());
  if (::lseek(file.get(), 0, SEEK_END) < 0) return Error::FromErrno("seek " + path.string());

  UniqueFd inotify(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!inotify) return Error::FromErrno("inotify_init1");
  // The directory, not the file: a rotation replaces the file under its name,
  // and a watch on the old inode would not see the new one appear.
  fs::path dir = path.parent_path();
  if (dir.empty()) dir = ".";
  constexpr uint32_t kMask =
      IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ONLYDIR;
  if (::inotify_add_watch(inotify.get(), dir.c_str(), kMask) < 0) {
    return Error::FromErrno("inotify_add_watch " + dir.string());
  }
  return LogFollower(path, std::move(inotify), std::move(file), FileId{st.st_dev, st.st_ino});
}

Result<std::vector<LogLine>> LogFollower::Poll(int timeout_ms) {
  std::vector<LogLine> out;
  struct timespec start {};
  (void)clock_gettime(CLOCK_MONOTONIC, &start);
  Status status;
  for (;;) {
    // Events are drained before the file is read: a write after the read
    // leaves an event that ends the wait below at once.
    status = DrainEvents();
    if (status.ok()) status = Drain(out);
    if (status.ok()) status = FollowRotation(out);
    if (!status.ok() || !out.empty()) break;

    int wait_ms = -1;
    if (timeout_ms >= 0) {
      struct timespec now {};
      (void)clock_gettime(CLOCK_MONOTONIC, &now);
      const int64_t elapsed_ms =
          (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1'000'000;
      if (elapsed_ms >= timeout_ms) break;
      wait_ms = static_cast<int>(timeout_ms - elapsed_ms);
    }
    struct pollfd pfd = {inotify_.get(), POLLIN, 0};
    if (::poll(&pfd, 1, wait_ms) < 0 && errno != EINTR) {
      status = Error::FromErrno("poll inotify for " + path_.string());
      break;
    }
  }
  if (malformed_ > 0) {
    log::Warn("skipped malformed CRI log records",
              {{"path", path_.string()}, {"count", malformed_}, {"first", first_malformed_}});
    malformed_ = 0;
    first_malformed_.clear();
  }
  if (!status.ok()) return std::move(status).error();
  return out;
}

Status LogFollower::DrainEvents() {
  // The events only wake us; what changed is learned from the files.
  alignas(inotify_event) std::array<char, 4096> buf;
  for (;;) {
    ssize_t n = ::read(inotify_.get(), buf.data(), buf.size());
    if (n > 0) continue;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) return Error::FromErrno("read inotify for " + path_.string());
    return Ok();
  }
}

void LogFollower::ParseRecords(std::string_view data, std::vector<LogLine>& out) {
  Malformed m;
  nodeagent::ParseRecords(data, m, [&out](LogLine&& l) { out.push_back(std::move(l)); });
  if (m.count > 0 && malformed_ == 0) first_malformed_ = m.first;
  malformed_ += m.count;
}

Status LogFollower::Drain(std::vector<LogLine>& out) {
  std::array<char, kReadChunk> buf;
  for (;;) {
    ssize_t n = ::read(file_.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::FromErrno("read " + path_.string());
    }
    if (n == 0) return Ok();
    partial_record_.append(buf.data(), static_cast<size_t>(n));
    size_t end = partial_record_.rfind('\n');
    if (end == std::string::npos) continue;
    ParseRecords(std::string_view(partial_record_).substr(0, end + 1), out);
    partial_record_.erase(0, end + 1);
  }
}

Status LogFollower::FinishFile(std::vector<LogLine>& out) {
  BERTH_TRY(Drain(out));
  if (!partial_record_.empty()) {
    // The file gets no more writes, so these bytes are a record cut short
    // (the writer crashed or the disk filled mid-record).
    if (malformed_++ == 0) first_malformed_ = "CRI log record without newline at end of file";
    partial_record_.clear();
  }
  return Ok();
}

Result<std::vector<std::optional<LogFollower::FileId>>> LogFollower::ScanChain() const {
  std::vector<std::optional<FileId>> chain;
  int misses = 0;
  for (int i = 0; i <= kMaxRotatedScan; ++i) {
    fs::path name = i == 0 ? path_ : Rotated(path_, i);
    struct stat st {};
    if (::stat(name.c_str(), &st) < 0) {
      if (errno != ENOENT) return Error::FromErrno("stat " + name.string());
      // A rotation in progress leaves one name vacant at a time (the writer
      // renames from the oldest down), so two misses in a row end the chain.
      if (i > 0 && ++misses == 2) break;
      chain.emplace_back();
      continue;
    }
    misses = 0;
    chain.emplace_back(FileId{st.st_dev, st.st_ino});
  }
  return chain;
}

Status LogFollower::FollowRotation(std::vector<LogLine>& out) {
  struct stat st {};
  if (::stat(path_.c_str(), &st) < 0) {
    // ENOENT: renamed away and the new file not created yet; keep reading the
    // old one until it is.
    if (errno == ENOENT) return Ok();
    return Error::FromErrno("stat " + path_.string());
  }
  if (FileId{st.st_dev, st.st_ino} == id_) return Ok();

  // The writer renames the old file away before it creates the new one, so
  // the old file is complete now.
  BERTH_TRY(FinishFile(out));

  // Rotations since the last call left files between ours and the new one:
  // ours is path.k, and path.(k-1) ... path.1, then path, came after it. The
  // writer may be rotating while we look, so a scan that misses ours is
  // repeated, and each file is checked to still be the one the scan saw
  // before it is read; if not, we stop and the next call scans again. Each
  // file read becomes file_, so that call resumes right after it.
  std::vector<std::optional<FileId>> chain;
  int ours = -1;
  constexpr int kScans = 3;
  for (int scan = 0; scan < kScans && ours < 0; ++scan) {
    BERTH_ASSIGN_OR_RETURN(chain, ScanChain());
    for (size_t i = 1; i < chain.size() && ours < 0; ++i) {
      if (chain[i] == id_) ours = static_cast<int>(i);
    }
  }
  // Not found: unlinked (max_files 1) or rotated out of the chain before we
  // got to it; what came between is unknown, so go on with `path`.
  if (ours < 0) ours = 1;

  for (int i = ours - 1; i >= 0; --i) {
    if (!chain[static_cast<size_t>(i)]) return Ok();  // mid-rotation; the next call rescans
    fs::path name = i == 0 ? path_ : Rotated(path_, i);
    UniqueFd fd(::open(name.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
      // ENOENT: moved since the scan; the next call rescans.
      if (errno == ENOENT) return Ok();
      return Error::FromErrno("open " + name.string());
    }
    if (::fstat(fd.get(), &st) < 0) return Error::FromErrno("fstat " + name.string());
    const FileId id{st.st_dev, st.st_ino};
    if (!(id == *chain[static_cast<size_t>(i)])) return Ok();  // moved since the scan
    file_ = std::move(fd);
    id_ = id;
    partial_record_.clear();
    BERTH_TRY(i == 0 ? Drain(out) : FinishFile(out));
  }
  return Ok();
}

}  // namespace berth::nodeagent
