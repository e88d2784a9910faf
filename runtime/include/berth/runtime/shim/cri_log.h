// CRI-format container log files, written by berth-shim from the container's
// stdout and stderr pipes (the format kubelet reads, see the CRI
// "container logs" design: one record per line,
//   <RFC 3339 UTC time, 9 fractional digits> <stdout|stderr> <P|F> <content>\n
// where F closes a line and P is a chunk of a line that goes on in the next
// record of the same stream).
//
// Ownership: a CriLogWriter owns the fd of the current log file and the bytes
// of each stream's unterminated line. It is move-only.
// Thread-safety: none; the shim's single event loop is the only caller.
// Errors: Open returns the open(2) errno naming the path, or EINVAL for bad
// options; Write and Flush return the errno of a failed write(2), rename(2)
// or open(2) naming the file.
//
// Rotation: max_files counts the current file. Before a record that would
// take the file past max_bytes (and the file is not empty) the writer renames
// path.(N-2) -> path.(N-1), ..., path.1 -> path.2, path -> path.1 (the rename
// over path.(N-1) is what drops the oldest), then opens a fresh path. With
// max_files == 1 the old file is unlinked instead. A record longer than
// max_bytes still goes whole into a fresh file: a record is never split.
//
// Built into the statically linked monitor, so this module uses only libc and
// small parts of the standard library (no iostream, locale or formatting
// libraries) to keep its RSS low.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "berth/common/error.h"
#include "berth/common/unique_fd.h"

namespace berth::runtime::shim {

enum class LogStream { kStdout, kStderr };

// "stdout" or "stderr", as in the log record.
std::string_view LogStreamName(LogStream stream);

struct CriLogOptions {
  std::string path;                     // the current log file; its directory must exist
  uint64_t max_bytes = 10 << 20;        // rotate before a record would exceed this
  int max_files = 5;                    // including the current file; >= 1
  size_t max_line = 16 * size_t{1024};  // content bytes per record; longer lines become P chunks
};

class CriLogWriter {
 public:
  // Opens (creating, mode 0640) options.path for appending.
  static Result<CriLogWriter> Open(CriLogOptions options);

  CriLogWriter(CriLogWriter&&) noexcept = default;
  CriLogWriter& operator=(CriLogWriter&&) noexcept = default;
  CriLogWriter(const CriLogWriter&) = delete;
  CriLogWriter& operator=(const CriLogWriter&) = delete;
  ~CriLogWriter() = default;

  // Takes bytes as read from the container's pipe. Each complete line is one
  // F record stamped time_ns (longer than max_line: P chunks, then F); bytes
  // after the last newline wait for more, but once they exceed max_line they
  // are cut into P chunks as they come. The newline is not part of the
  // content; every other byte (including '\r') is kept as written.
  // A record that fails to write is dropped and the rest still go out, so the
  // caller can keep draining the pipe; the first error is returned.
  Status Write(LogStream stream, std::string_view bytes, int64_t time_ns);

  // At the end of `stream`: writes its unterminated remainder, if any, as a
  // P record.
  Status Flush(LogStream stream, int64_t time_ns);

  const std::string& path() const { return options_.path; }
  // Bytes in the current file, as this writer has written them.
  uint64_t size() const { return size_; }

 private:
  CriLogWriter(CriLogOptions options, UniqueFd fd, uint64_t size)
      : options_(std::move(options)), fd_(std::move(fd)), size_(size) {}

  Status WriteLine(LogStream stream, std::string_view line, int64_t time_ns);
  Status WriteRecord(LogStream stream, char tag, std::string_view content, int64_t time_ns);
  Status Rotate();
  std::string& Pending(LogStream stream);

  CriLogOptions options_;
  UniqueFd fd_;
  uint64_t size_ = 0;
  std::string pending_stdout_;
  std::string pending_stderr_;
  std::string record_;  // reused for each record, so steady state does not allocate
};

// "2026-11-23T06:00:00.123456789Z": UTC, always 9 fractional digits (unlike
// Go's RFC3339Nano, which trims trailing zeros), so records sort as text.
std::string FormatRfc3339Nano(int64_t time_ns);

// CLOCK_REALTIME in nanoseconds since the Unix epoch.
int64_t RealtimeNanos();

}  // namespace berth::runtime::shim
