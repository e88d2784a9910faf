// Reading CRI-format container logs, the files berth-shim's CriLogWriter
// writes (see berth/runtime/shim/cri_log.h for the record format and the
// rotation scheme path, path.1, ..., path.(max_files-1)): parse one record,
// read a container's log with tail and since, and follow it across rotation.
//
// Ownership: ReadLogs holds its fds only for the call; a LogFollower owns the
// fd of the file it reads (and, across a rotation, of the old file until it
// is drained) and an inotify fd, all as UniqueFd. LogFollower is move-only.
// Thread-safety: the free functions are; a LogFollower is not (one follower
// per reader).
// Errors: ParseCriLine returns EINVAL saying which field is wrong; ReadLogs
// returns ENOENT naming `path` when the current file is missing, EINVAL for a
// negative tail, else the errno of the failed open/read. Malformed records are
// not errors: ReadLogs and LogFollower::Poll skip them and report the count of
// skipped records with berth::log::Warn ("skipped malformed CRI log records",
// fields path, count, first) so one corrupt line does not hide a log.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "berth/common/error.h"
#include "berth/common/unique_fd.h"
#include "berth/runtime/shim/cri_log.h"

namespace berth::nodeagent {

struct LogLine {
  int64_t time_ns = 0;  // nanoseconds since the Unix epoch, UTC
  runtime::shim::LogStream stream = runtime::shim::LogStream::kStdout;
  // True for a P record; after ReadLogs joins chunks, only for a line whose
  // last chunk never came (the stream ended without a newline).
  bool partial = false;
  std::string content;  // without the record's trailing newline
};

// Parses one record "<time> <stdout|stderr> <P|F> <content>" (one trailing
// '\n' is allowed). The time is RFC 3339 with an optional 1-9 digit fraction
// and "Z" or a numeric offset (containerd writes Go's RFC3339Nano in local
// time); anything else, an unknown stream or tag, a missing field or a
// newline inside the content is EINVAL.
Result<LogLine> ParseCriLine(std::string_view line);

struct LogQuery {
  std::optional<int64_t> tail_lines;  // the last N lines (after since); >= 0
  std::optional<int64_t> since_ns;    // lines with time_ns >= since_ns
};

// Reads path.(max_files-1) ... path.1 (missing ones are skipped), then path,
// oldest first. P chunks are joined, per stream, with that stream's following
// chunk(s) up to the F record, even across files; the joined line keeps the
// time and position of its first chunk (so output stays in file order) and
// has partial=false. Since is applied to the joined lines, then tail.
// Chunks whose first chunk is in a file already rotated out (or beyond
// max_files) read as a line of their own. A file seen under two names (a
// rotation during the call) is read once. A record still being written at the
// end of `path` (no newline yet) is left for the next read.
Result<std::vector<LogLine>> ReadLogs(const std::filesystem::path& path, const LogQuery& query,
                                      int max_files = 5);

// Follows a live log: records appended after Open, across rotations.
class LogFollower {
 public:
  // Positioned at the current end of `path`, which must exist.
  static Result<LogFollower> Open(const std::filesystem::path& path);

  LogFollower(LogFollower&&) noexcept = default;
  LogFollower& operator=(LogFollower&&) noexcept = default;
  LogFollower(const LogFollower&) = delete;
  LogFollower& operator=(const LogFollower&) = delete;
  ~LogFollower() = default;

  // The complete records appended since the last call, as records: P chunks
  // are returned as they come (partial=true), not joined, so a follower shows
  // a long line without waiting for its end. Returns as soon as there are
  // some; otherwise waits up to timeout_ms (negative: no limit) and returns
  // an empty vector if none came.
  // When `path` is rotated the rest of the old file is returned first, then
  // the new file from its start: no record is lost or repeated. If several
  // rotations happen between two calls, the files in between are found by
  // name (path.1, path.2, ...) and read too; a file rotated out of the chain
  // before it could be read is lost.
  Result<std::vector<LogLine>> Poll(int timeout_ms);

  // Readable when the directory has events pending: poll(2) it to multiplex
  // several followers.
  int fd() const { return inotify_.get(); }

 private:
  // Which file a name or fd refers to; a rotation changes it under the name.
  struct FileId {
    dev_t dev = 0;
    ino_t ino = 0;
    bool operator==(const FileId& o) const { return dev == o.dev && ino == o.ino; }
  };

  LogFollower(std::filesystem::path path, UniqueFd inotify, UniqueFd file, FileId id)
      : path_(std::move(path)), inotify_(std::move(inotify)), file_(std::move(file)), id_(id) {}

  Status DrainEvents();
  // Appends the complete records now readable from file_ to `out`.
  Status Drain(std::vector<LogLine>& out);
  // If path_ now names another file: finishes the old one, reads the files
  // rotated in between, and moves to the new one.
  Status FollowRotation(std::vector<LogLine>& out);
  // Reads file_ to its end, which is final (the file was rotated away).
  Status FinishFile(std::vector<LogLine>& out);
  // The identities of path_ (index 0), path_.1, path_.2, ... as one pass of
  // stat(2) sees them; nullopt where a name is missing.
  Result<std::vector<std::optional<FileId>>> ScanChain() const;
  void ParseRecords(std::string_view data, std::vector<LogLine>& out);

  std::filesystem::path path_;
  UniqueFd inotify_;
  UniqueFd file_;
  FileId id_;                   // the file file_ reads
  std::string partial_record_;  // bytes after the last newline read so far
  int64_t malformed_ = 0;       // skipped in the current Poll
  std::string first_malformed_;
};

}  // namespace berth::nodeagent
