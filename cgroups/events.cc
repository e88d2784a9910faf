// cgroup.events driven operations: populated/frozen state, freeze and thaw,
// kill, waiting for a cgroup to empty; ScopedCgroup's teardown.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <set>

#include "berth/cgroups/cgroup.h"
#include "berth/cgroups/stats.h"
#include "berth/common/file.h"
#include "berth/common/log.h"

namespace berth::cgroups {
namespace {

using Clock = std::chrono::steady_clock;

// Reads the whole file from offset 0 through `fd`. For kernfs files this also
// acknowledges the pending change notification, so the next poll(2) sleeps
// until the file changes again.
Result<std::string> ReadFromStart(int fd, const std::filesystem::path& path) {
  std::string out;
  char buf[512];
  off_t off = 0;
  for (;;) {
    ssize_t n = ::pread(fd, buf, sizeof(buf), off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::FromErrno("read " + path.string());
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    off += n;
  }
  return out;
}

Result<uint64_t> EventValue(const std::string& text, const std::string& key,
                            const std::filesystem::path& path) {
  BERTH_ASSIGN_OR_RETURN(auto kv, ParseFlatKeyed(text).Wrap("parse " + path.string()));
  auto it = kv.find(key);
  if (it == kv.end()) return Error::Sys(ENOENT, "no \"" + key + "\" in " + path.string());
  return it->second;
}

// Waits until `key` in cgroup.events equals `want`. The kernel flags a
// change of cgroup.events with POLLPRI (kernfs_notify; see "cgroup.events" in
// Documentation/admin-guide/cgroup-v2.rst), so this sleeps in poll(2) between
// changes rather than spinning. On a regular file (a fake cgroupfs) POLLPRI
// never fires, so an unsatisfied wait simply runs into its deadline.
Status WaitForEvent(const std::filesystem::path& events, const std::string& key, uint64_t want,
                    std::chrono::milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  BERTH_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(events, O_RDONLY));
  for (;;) {
    BERTH_ASSIGN_OR_RETURN(std::string text, ReadFromStart(fd.get(), events));
    BERTH_ASSIGN_OR_RETURN(uint64_t value, EventValue(text, key, events));
    if (value == want) return Ok();

    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      return Error::Sys(ETIMEDOUT, "waited " + std::to_string(timeout.count()) + "ms for \"" + key +
                                       " " + std::to_string(want) + "\" in " + events.string() +
                                       " (still " + std::to_string(value) + ")");
    }
    // Round up so a sub-millisecond remainder does not turn into poll(0).
    struct pollfd pfd = {fd.get(), POLLPRI, 0};
    int n = ::poll(&pfd, 1, static_cast<int>(left.count()) + 1);
    if (n < 0 && errno != EINTR) return Error::FromErrno("poll " + events.string());
  }
}

Result<uint64_t> ReadEvent(const std::filesystem::path& events, const std::string& key) {
  BERTH_ASSIGN_OR_RETURN(std::string text, ReadFile(events));
  return EventValue(text, key, events);
}

// Pids of `dir` and every cgroup below it.
Status CollectPids(const std::filesystem::path& dir, std::vector<pid_t>& out) {
  BERTH_ASSIGN_OR_RETURN(std::string text, ReadFile(dir / "cgroup.procs"));
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    std::string_view line = Trim(std::string_view(text).substr(pos, eol - pos));
    pos = eol + 1;
    if (line.empty()) continue;
    BERTH_ASSIGN_OR_RETURN(uint64_t pid,
                           ParseNumber(line).Wrap("parse " + (dir / "cgroup.procs").string()));
    out.push_back(static_cast<pid_t>(pid));
  }
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) return Error::Sys(ec.value(), "list " + dir.string());
  for (const auto& entry : it) {
    std::error_code tec;
    if (entry.is_directory(tec) && !entry.is_symlink(tec)) {
      Status st = CollectPids(entry.path(), out);
      // ENOENT: the child cgroup went away while we walked; nothing to kill.
      if (!st.ok() && st.error().err() != ENOENT) return st;
    }
  }
  return Ok();
}

// Kill without cgroup.kill (kernels before 5.14): SIGKILL every listed pid,
// then look again for processes forked meanwhile. Bounded: a pass that finds
// no pid it has not already signalled ends the walk.
Status KillByWalking(const std::filesystem::path& dir) {
  constexpr int kMaxPasses = 16;
  std::set<pid_t> signalled;
  for (int pass = 0; pass < kMaxPasses; ++pass) {
    std::vector<pid_t> pids;
    BERTH_TRY(CollectPids(dir, pids));
    bool fresh = false;
    for (pid_t pid : pids) {
      if (!signalled.insert(pid).second) continue;
      fresh = true;
      // ESRCH: the process exited after we listed it.
      if (::kill(pid, SIGKILL) < 0 && errno != ESRCH) {
        return Error::FromErrno("kill " + std::to_string(pid));
      }
    }
    if (!fresh) return Ok();
  }
  return Ok();
}

}  // namespace

Result<bool> Cgroup::Populated() const {
  BERTH_ASSIGN_OR_RETURN(
      uint64_t v,
      ReadEvent(dir() / "cgroup.events", "populated").Wrap("read populated of cgroup " + path_));
  return v != 0;
}

Result<bool> Cgroup::Frozen() const {
  BERTH_ASSIGN_OR_RETURN(
      uint64_t v,
      ReadEvent(dir() / "cgroup.events", "frozen").Wrap("read frozen of cgroup " + path_));
  return v != 0;
}

Status Cgroup::Freeze(std::chrono::milliseconds timeout) const {
  const std::string ctx = "freeze cgroup " + path_;
  BERTH_TRY_CTX(WriteFile(dir() / "cgroup.freeze", "1"), ctx);
  BERTH_TRY_CTX(WaitForEvent(dir() / "cgroup.events", "frozen", 1, timeout), ctx);
  return Ok();
}

Status Cgroup::Thaw(std::chrono::milliseconds timeout) const {
  const std::string ctx = "thaw cgroup " + path_;
  BERTH_TRY_CTX(WriteFile(dir() / "cgroup.freeze", "0"), ctx);
  BERTH_TRY_CTX(WaitForEvent(dir() / "cgroup.events", "frozen", 0, timeout), ctx);
  return Ok();
}

Status Cgroup::Kill() const {
  const std::string ctx = "kill cgroup " + path_;
  Status st = WriteFile(dir() / "cgroup.kill", "1");
  if (st.ok()) return Ok();
  // ENOENT of cgroup.kill alone (the cgroup itself exists): a kernel before
  // 5.14, so signal each process ourselves.
  if (st.error().err() != ENOENT || ::access(dir().c_str(), F_OK) != 0) {
    return std::move(st).error().Wrap(ctx);
  }
  BERTH_TRY_CTX(KillByWalking(dir()), ctx + " (no cgroup.kill: signalling each process)");
  return Ok();
}

Status Cgroup::WaitEmpty(std::chrono::milliseconds timeout) const {
  BERTH_TRY_CTX(WaitForEvent(dir() / "cgroup.events", "populated", 0, timeout),
                "wait for cgroup " + path_ + " to empty");
  return Ok();
}

ScopedCgroup::~ScopedCgroup() {
  if (released_) return;
  IgnoreError(cg_.Kill(), "any errno: best-effort teardown; Remove below reports what is left");
  IgnoreError(cg_.WaitEmpty(std::chrono::seconds(5)),
              "ETIMEDOUT/ENOENT: Remove below fails with EBUSY if processes remain");
  Status removed = cg_.Remove();
  if (!removed.ok()) {
    log::Warn("cgroup left behind",
              {{"cgroup", cg_.path()}, {"error", removed.error().ToString()}});
  }
  IgnoreError(std::move(removed), "EBUSY and others: a destructor cannot fail; logged above");
}

}  // namespace berth::cgroups
