// The static-pod directory (default /etc/berth/pods), as kubelet reads its
// staticPodPath: every *.yaml, *.yml or *.json file holds one Pod. A file
// that does not parse is reported with its error and skipped; the other
// pods are untouched. ManifestWatcher turns inotify events into the set of
// changes since the last poll (added, changed, removed by file).
// Not thread-safe.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "manifest.h"

#include "berth/common/error.h"
#include "berth/common/unique_fd.h"

namespace berth::nodeagent {

struct ManifestScan {
  std::map<std::filesystem::path, PodManifest> pods;  // by file
  std::map<std::filesystem::path, Error> errors;      // files that did not parse
};

Result<ManifestScan> ScanManifestDir(const std::filesystem::path& dir);
// Reads and parses one file into `scan` (replacing what it held for it);
// a file that is gone is dropped from it.
void RescanManifestFile(const std::filesystem::path& file, ManifestScan* scan);

struct ManifestChanges {
  std::vector<std::filesystem::path> added, changed, removed;
  bool empty() const { return added.empty() && changed.empty() && removed.empty(); }
};

class ManifestWatcher {
 public:
  // Watches `dir` (which must exist) for files written, moved in or out, deleted.
  static Result<ManifestWatcher> Open(const std::filesystem::path& dir);
  int fd() const { return fd_.get(); }  // readable when events are pending: poll(2) it
  // Drains pending events; files seen for the first time are "added".
  Result<ManifestChanges> Poll();

 private:
  ManifestWatcher(std::filesystem::path dir, UniqueFd fd)
      : dir_(std::move(dir)), fd_(std::move(fd)) {}
  std::filesystem::path dir_;
  UniqueFd fd_;
  std::map<std::string, bool> known_;  // file name -> seen
};

bool IsManifestFile(const std::filesystem::path& p);

}  // namespace berth::nodeagent
