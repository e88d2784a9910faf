// shim.state and exit: "key=value" lines, written durably. Part of
// berth_shim_core, so libc and the standard library only.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <map>
#include <string>

#include "berth/common/unique_fd.h"
#include "berth/runtime/shim/shim.h"

namespace berth::runtime::shim {
namespace {

using Fields = std::map<std::string, int64_t, std::less<>>;

Result<Fields> ParseFields(std::string_view text, std::string_view what) {
  Fields fields;
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.empty()) continue;
    const size_t eq = line.find('=');
    const std::string where = std::string(what) + " line " + std::to_string(line_no);
    if (eq == std::string_view::npos || eq == 0) {
      return Error::Invalid(where + ": expected key=value, got \"" + std::string(line) + "\"");
    }
    std::string_view value = line.substr(eq + 1);
    int64_t v = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc() || end != value.data() + value.size()) {
      return Error::Invalid(where + ": " + std::string(line.substr(0, eq)) +
                            ": expected an integer, got \"" + std::string(value) + "\"");
    }
    fields[std::string(line.substr(0, eq))] = v;
  }
  return fields;
}

Result<int64_t> Field(const Fields& f, std::string_view key, std::string_view what) {
  auto it = f.find(key);
  if (it == f.end()) return Error::Invalid(std::string(what) + ": missing " + std::string(key));
  return it->second;
}

}  // namespace

std::string FormatShimState(const ShimState& s) {
  return "shim_pid=" + std::to_string(s.shim_pid) +
         "\nshim_start_time=" + std::to_string(s.shim_start_time) +
         "\ninit_pid=" + std::to_string(s.init_pid) +
         "\ninit_start_time=" + std::to_string(s.init_start_time) +
         "\nstarted_at=" + std::to_string(s.started_at_ns) + "\n";
}

Result<ShimState> ParseShimState(std::string_view text) {
  BERTH_ASSIGN_OR_RETURN(Fields f, ParseFields(text, kShimStateFile));
  ShimState s;
  BERTH_ASSIGN_OR_RETURN(int64_t shim_pid, Field(f, "shim_pid", kShimStateFile));
  BERTH_ASSIGN_OR_RETURN(int64_t shim_start, Field(f, "shim_start_time", kShimStateFile));
  BERTH_ASSIGN_OR_RETURN(int64_t init_pid, Field(f, "init_pid", kShimStateFile));
  BERTH_ASSIGN_OR_RETURN(int64_t init_start, Field(f, "init_start_time", kShimStateFile));
  BERTH_ASSIGN_OR_RETURN(s.started_at_ns, Field(f, "started_at", kShimStateFile));
  if (shim_pid <= 0 || init_pid <= 0) return Error::Invalid("shim.state: pids must be positive");
  s.shim_pid = static_cast<pid_t>(shim_pid);
  s.init_pid = static_cast<pid_t>(init_pid);
  s.shim_start_time = static_cast<uint64_t>(shim_start);
  s.init_start_time = static_cast<uint64_t>(init_start);
  return s;
}

std::string FormatExitStatus(const ExitStatus& s) {
  return "exit_code=" + std::to_string(s.exit_code) + "\nsignal=" + std::to_string(s.signal) +
         "\noom_killed=" + std::to_string(s.oom_killed ? 1 : 0) +
         "\nstarted_at=" + std::to_string(s.started_at_ns) +
         "\nfinished_at=" + std::to_string(s.finished_at_ns) + "\n";
}

Result<ExitStatus> ParseExitStatus(std::string_view text) {
  BERTH_ASSIGN_OR_RETURN(Fields f, ParseFields(text, kExitFile));
  ExitStatus s;
  BERTH_ASSIGN_OR_RETURN(int64_t code, Field(f, "exit_code", kExitFile));
  BERTH_ASSIGN_OR_RETURN(int64_t sig, Field(f, "signal", kExitFile));
  BERTH_ASSIGN_OR_RETURN(int64_t oom, Field(f, "oom_killed", kExitFile));
  BERTH_ASSIGN_OR_RETURN(s.started_at_ns, Field(f, "started_at", kExitFile));
  BERTH_ASSIGN_OR_RETURN(s.finished_at_ns, Field(f, "finished_at", kExitFile));
  if (code < 0 || code > 255 || sig < 0 || sig > 64) {
    return Error::Invalid("exit: exit_code or signal out of range");
  }
  s.exit_code = static_cast<int>(code);
  s.signal = static_cast<int>(sig);
  s.oom_killed = oom != 0;
  return s;
}

Status WriteFileDurably(const std::string& path, std::string_view data, bool sync) {
  const std::string tmp = path + ".tmp";
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) return Error::FromErrno("open " + tmp);
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::FromErrno("write " + tmp);
    done += static_cast<size_t>(n);
  }
  if (sync && ::fsync(fd.get()) < 0) return Error::FromErrno("fsync " + tmp);
  fd.reset();
  if (::rename(tmp.c_str(), path.c_str()) < 0) return Error::FromErrno("rename to " + path);
  if (!sync) return Ok();
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dfd) return Error::FromErrno("open " + dir);
  if (::fsync(dfd.get()) < 0) return Error::FromErrno("fsync " + dir);
  return Ok();
}

}  // namespace berth::runtime::shim
