#include "berth/runtime/image/gc.h"

#include <fcntl.h>
#include <unistd.h>

#include <sys/file.h>
#include <sys/stat.h>

#include <cerrno>
#include <set>

#include "fs_util.h"
#include "json_fields.h"

#include "berth/common/file.h"
#include "berth/common/log.h"

namespace berth::runtime::image {
namespace {

namespace fs = std::filesystem;

Result<UniqueFd> LockGc(const ImageStore& store, int op) {
  const fs::path path = store.root() / "gc.lock";
  BERTH_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  int rc;
  do {
    rc = ::flock(fd.get(), op);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) return Error::FromErrno("flock " + path.string());
  return fd;
}

bool ValidLeaseId(const std::string& id) {
  if (id.empty() || id == "." || id == "..") return false;
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') {
      return false;
    }
  }
  return true;
}

fs::path LeasePath(const ImageStore& store, const std::string& id) {
  return store.root() / "leases" / (id + ".json");
}

// Disk usage of a tree (allocated blocks), not following symlinks.
int64_t TreeBytes(const fs::path& p) {
  int64_t total = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(p, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) == 0) total += static_cast<int64_t>(st.st_blocks) * 512;
  }
  return total;
}

struct Marks {
  std::set<std::string> blobs;      // hex
  std::set<std::string> snapshots;  // diff_id hex
};

// Marks what a manifest or index blob reaches; missing blobs are skipped.
void MarkDocument(const ImageStore& store, const Descriptor& d, Marks& marks, int depth = 0) {
  marks.blobs.insert(d.digest.hex);
  auto body = store.ReadBlob(d.digest);
  if (!body.ok() || depth > 4) return;
  if (IsIndexType(d.media_type)) {
    auto index = ParseIndex(*body);
    if (!index.ok()) return;
    for (const Descriptor& m : index->manifests) MarkDocument(store, m, marks, depth + 1);
    return;
  }
  auto manifest = ParseManifest(*body);
  if (!manifest.ok()) return;
  marks.blobs.insert(manifest->config.digest.hex);
  for (const Descriptor& l : manifest->layers) marks.blobs.insert(l.digest.hex);
  auto config_json = store.ReadBlob(manifest->config.digest);
  if (!config_json.ok()) return;
  auto config = ParseImageConfig(*config_json);
  if (!config.ok()) return;
  for (const Digest& diff_id : config->diff_ids) marks.snapshots.insert(diff_id.hex);
}

Status MarkLeases(const ImageStore& store, Marks& marks) {
  std::error_code ec;
  for (auto it = fs::directory_iterator(store.root() / "leases", ec);
       !ec && it != fs::directory_iterator(); it.increment(ec)) {
    BERTH_ASSIGN_OR_RETURN(std::string text, ReadFile(it->path()));
    BERTH_ASSIGN_OR_RETURN(detail::Json j, detail::ParseJson(text, it->path().string()));
    auto snaps = j.find("snapshots");
    if (snaps == j.end() || !snaps->is_array()) continue;
    for (const auto& s : *snaps) {
      if (!s.is_string()) continue;
      auto d = ParseDigest(s.get<std::string>());
      if (d.ok()) marks.snapshots.insert(d->hex);
    }
  }
  return {};
}

}  // namespace

Result<StoreWriteGuard> StoreWriteGuard::Acquire(const ImageStore& store) {
  BERTH_ASSIGN_OR_RETURN(UniqueFd fd, LockGc(store, LOCK_SH));
  return StoreWriteGuard(std::move(fd));
}

Status AddLease(const ImageStore& store, const std::string& id,
                const std::vector<Digest>& diff_ids) {
  if (!ValidLeaseId(id)) return Error::Invalid("lease id \"" + id + "\": use [A-Za-z0-9_.-]");
  detail::Json snaps = detail::Json::array();
  for (const Digest& d : diff_ids) snaps.push_back(d.String());
  detail::Json doc = {{"id", id}, {"snapshots", snaps}};
  BERTH_TRY(MakeDirs(store.root() / "leases", 0700));
  return WriteFileAtomic(LeasePath(store, id), doc.dump() + "\n", 0600);
}

Status RemoveLease(const ImageStore& store, const std::string& id) {
  if (!ValidLeaseId(id)) return Error::Invalid("lease id \"" + id + "\": use [A-Za-z0-9_.-]");
  const fs::path path = LeasePath(store, id);
  if (::unlink(path.c_str()) < 0 && errno != ENOENT)
    return Error::FromErrno("unlink " + path.string());
  return {};
}

Result<GcStats> CollectGarbage(const ImageStore& store) {
  BERTH_ASSIGN_OR_RETURN(UniqueFd lock, LockGc(store, LOCK_EX));
  Marks marks;
  BERTH_ASSIGN_OR_RETURN(std::vector<RefEntry> refs, store.ListRefs());
  for (const RefEntry& r : refs) MarkDocument(store, r.target, marks);
  BERTH_TRY(MarkLeases(store, marks));

  GcStats stats;
  std::error_code ec;
  const fs::path blobs = store.root() / "blobs" / "sha256";
  for (auto it = fs::directory_iterator(blobs, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    const std::string hex = it->path().filename().string();
    if (marks.blobs.count(hex)) continue;
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) == 0) stats.bytes_freed += st.st_size;
    if (::unlink(it->path().c_str()) < 0) return Error::FromErrno("unlink " + it->path().string());
    ++stats.blobs_removed;
  }
  // Nobody holds the write guard, so every ingest file is from a dead writer.
  for (auto it = fs::directory_iterator(store.root() / "ingest", ec);
       !ec && it != fs::directory_iterator(); it.increment(ec)) {
    if (::unlink(it->path().c_str()) == 0) ++stats.ingest_removed;
  }
  const fs::path snaps = store.root() / "snapshots";
  BERTH_ASSIGN_OR_RETURN(UniqueFd snaps_fd, OpenFile(snaps, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  for (auto it = fs::directory_iterator(snaps, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    const std::string hex = it->path().filename().string();
    if (marks.snapshots.count(hex)) continue;
    auto dir = OpenFile(it->path(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (!dir.ok()) continue;
    if (::flock(dir->get(), LOCK_EX | LOCK_NB) < 0) continue;  // being unpacked right now
    const int64_t bytes = TreeBytes(it->path());
    BERTH_TRY_CTX(detail::RemoveTreeAt(snaps_fd.get(), hex), "remove snapshot " + hex);
    stats.bytes_freed += bytes;
    ++stats.snapshots_removed;
  }
  log::Info("image store garbage collected", {{"blobs", stats.blobs_removed},
                                              {"snapshots", stats.snapshots_removed},
                                              {"ingest", stats.ingest_removed},
                                              {"bytes", stats.bytes_freed}});
  return stats;
}

}  // namespace berth::runtime::image
