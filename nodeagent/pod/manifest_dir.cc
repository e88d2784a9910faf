#include "manifest_dir.h"

#include <unistd.h>

#include <sys/inotify.h>

#include <algorithm>
#include <cerrno>

#include "berth/common/file.h"

namespace berth::nodeagent {

namespace fs = std::filesystem;

bool IsManifestFile(const fs::path& p) {
  const std::string ext = p.extension().string();
  const std::string name = p.filename().string();
  if (name.empty() || name[0] == '.') return false;  // editors' swap and temp files
  return ext == ".yaml" || ext == ".yml" || ext == ".json";
}

Result<ManifestScan> ScanManifestDir(const fs::path& dir) {
  ManifestScan scan;
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file(ec) || !IsManifestFile(it->path())) continue;
    RescanManifestFile(it->path(), &scan);
  }
  if (ec) return Error::Sys(ec.value(), "list " + dir.string());
  return scan;
}

void RescanManifestFile(const fs::path& file, ManifestScan* scan) {
  scan->pods.erase(file);
  scan->errors.erase(file);
  std::error_code ec;
  if (!IsManifestFile(file) || !fs::is_regular_file(file, ec)) return;
  auto text = ReadFile(file);
  if (!text.ok()) {
    scan->errors.emplace(file, std::move(text).error());
    return;
  }
  auto pod = ParsePodManifest(*text, file.string());
  if (pod.ok()) {
    scan->pods.emplace(file, std::move(pod).value());
  } else {
    scan->errors.emplace(file, std::move(pod).error());
  }
}

Result<ManifestWatcher> ManifestWatcher::Open(const fs::path& dir) {
  UniqueFd fd(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!fd) return Error::FromErrno("inotify_init1");
  const uint32_t mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE;
  if (::inotify_add_watch(fd.get(), dir.c_str(), mask) < 0) {
    return Error::FromErrno("watch " + dir.string());
  }
  return ManifestWatcher(dir, std::move(fd));
}

Result<ManifestChanges> ManifestWatcher::Poll() {
  ManifestChanges out;
  std::map<std::string, char> what;  // name -> 'w' written, 'r' removed
  alignas(inotify_event) char buf[8192];
  while (true) {
    ssize_t n = ::read(fd_.get(), buf, sizeof(buf));
    if (n < 0) {
      if (errno == EAGAIN) break;
      if (errno == EINTR) continue;
      return Error::FromErrno("read inotify events for " + dir_.string());
    }
    for (char* p = buf; p < buf + n;) {
      auto* ev = reinterpret_cast<inotify_event*>(p);
      p += sizeof(inotify_event) + ev->len;
      if (ev->mask & IN_Q_OVERFLOW) {
        return Error::Sys(EOVERFLOW, "inotify queue of " + dir_.string() + " overflowed");
      }
      if (ev->len == 0) continue;
      const std::string name = ev->name;
      if (!IsManifestFile(name)) continue;
      if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) {
        what[name] = 'w';
      } else if (ev->mask & (IN_DELETE | IN_MOVED_FROM)) {
        what[name] = 'r';
      }
      // IN_CREATE alone: wait for the write to finish (IN_CLOSE_WRITE).
    }
  }
  for (const auto& [name, kind] : what) {
    const fs::path path = dir_ / name;
    if (kind == 'r') {
      // Reported even for a file never seen written: it may predate the
      // watcher (read by the caller's first scan).
      known_.erase(name);
      out.removed.push_back(path);
    } else if (known_.count(name)) {
      out.changed.push_back(path);
    } else {
      known_[name] = true;
      out.added.push_back(path);
    }
  }
  return out;
}

}  // namespace berth::nodeagent
