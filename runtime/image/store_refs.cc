// The reference index of the ImageStore: refs.json, rewritten atomically
// (WriteFileAtomic: temp, fsync, rename, dir fsync) under flock(2) on refs.lock
// so concurrent writers in threads or processes never lose an update.
#include <fcntl.h>

#include <sys/file.h>

#include "fs_util.h"
#include "json_fields.h"

#include "berth/common/file.h"
#include "berth/runtime/image/store.h"

namespace berth::runtime::image {
namespace {

using detail::Json;

constexpr const char* kRefsFile = "refs.json";

class RefsLock {
 public:
  static Result<RefsLock> Take(const std::filesystem::path& root, int op) {
    BERTH_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(root / "refs.lock", O_RDWR | O_CREAT, 0600));
    int rc;
    do {
      rc = ::flock(fd.get(), op);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0) return Error::FromErrno("flock " + (root / "refs.lock").string());
    return RefsLock(std::move(fd));
  }

 private:
  explicit RefsLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;  // closing it releases the lock
};

using RefMap = std::map<std::string, Descriptor>;

Result<RefMap> LoadRefs(const std::filesystem::path& root) {
  RefMap refs;
  auto text = ReadFile(root / kRefsFile);
  if (!text.ok()) {
    if (text.error().err() == ENOENT) return refs;
    return std::move(text).error();
  }
  const std::string what = (root / kRefsFile).string();
  BERTH_ASSIGN_OR_RETURN(Json j, detail::ParseJson(*text, what));
  auto it = j.find("refs");
  if (it == j.end() || !it->is_object())
    return detail::JsonError(what + ".refs", "expected an object");
  for (const auto& [key, v] : it->items()) {
    std::string p = what + ".refs." + key;
    if (!v.is_object()) return detail::JsonError(p, "expected an object");
    Descriptor d;
    BERTH_ASSIGN_OR_RETURN(d.media_type, detail::GetString(v, "mediaType", p, true));
    BERTH_ASSIGN_OR_RETURN(std::string digest, detail::GetString(v, "digest", p, true));
    BERTH_ASSIGN_OR_RETURN(d.digest, ParseDigest(digest).Wrap(p));
    BERTH_ASSIGN_OR_RETURN(d.size, detail::GetInt(v, "size", p, true));
    refs.emplace(key, std::move(d));
  }
  return refs;
}

Status SaveRefs(const std::filesystem::path& root, const RefMap& refs) {
  Json out = Json::object();
  for (const auto& [key, d] : refs) {
    out[key] = {{"mediaType", d.media_type}, {"digest", d.digest.String()}, {"size", d.size}};
  }
  Json doc = {{"schemaVersion", 1}, {"refs", std::move(out)}};
  return WriteFileAtomic(root / kRefsFile, doc.dump(2) + "\n", 0600);
}

}  // namespace

Status ImageStore::SetRef(const Reference& ref, const Descriptor& manifest) const {
  const std::string key = ref.StoreKey();
  if (!HasBlob(manifest.digest)) {
    return Error::Sys(ENOENT, "set reference " + key + ": manifest " + manifest.digest.String() +
                                  " is not in the store");
  }
  BERTH_ASSIGN_OR_RETURN(RefsLock lock, RefsLock::Take(root_, LOCK_EX));
  BERTH_ASSIGN_OR_RETURN(RefMap refs, LoadRefs(root_));
  Descriptor d;
  d.media_type = manifest.media_type;
  d.digest = manifest.digest;
  d.size = manifest.size;
  refs[key] = std::move(d);
  return SaveRefs(root_, refs).Wrap("set reference " + key);
}

Result<Descriptor> ImageStore::GetRef(const Reference& ref) const {
  const std::string key = ref.StoreKey();
  BERTH_ASSIGN_OR_RETURN(RefsLock lock, RefsLock::Take(root_, LOCK_SH));
  BERTH_ASSIGN_OR_RETURN(RefMap refs, LoadRefs(root_));
  auto it = refs.find(key);
  if (it == refs.end()) return Error::Sys(ENOENT, "image " + key + " is not in the store");
  return it->second;
}

Status ImageStore::DeleteRef(const Reference& ref) const {
  const std::string key = ref.StoreKey();
  BERTH_ASSIGN_OR_RETURN(RefsLock lock, RefsLock::Take(root_, LOCK_EX));
  BERTH_ASSIGN_OR_RETURN(RefMap refs, LoadRefs(root_));
  if (refs.erase(key) == 0) return Error::Sys(ENOENT, "image " + key + " is not in the store");
  return SaveRefs(root_, refs).Wrap("delete reference " + key);
}

Result<std::vector<RefEntry>> ImageStore::ListRefs() const {
  BERTH_ASSIGN_OR_RETURN(RefsLock lock, RefsLock::Take(root_, LOCK_SH));
  BERTH_ASSIGN_OR_RETURN(RefMap refs, LoadRefs(root_));
  std::vector<RefEntry> out;
  for (auto& [key, d] : refs) out.push_back(RefEntry{key, std::move(d)});
  return out;
}

}  // namespace berth::runtime::image
