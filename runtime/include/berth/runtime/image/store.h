// ImageStore: the node's content-addressed image store under one root
// directory (default /var/lib/berth/images):
//   blobs/sha256/<hex>        verified content (manifests, configs, layers)
//   ingest/                   in-flight blob writes (temp files, same filesystem)
//   refs.json                 reference -> manifest descriptor, written atomically
//   refs.lock                 flock(2) serialising read-modify-write of refs.json
//   snapshots/<diffid-hex>/   one unpacked layer: fs/ (the overlay lowerdir) and
//                             "committed", written last (see snapshot.h)
// Crash safety: a blob appears under blobs/ only after its content was
// verified and fsynced (rename of the ingest file, then fsync of the
// directory); a reference is written only after every blob it reaches is
// present, so a crash never leaves a reference to incomplete content.
//
// Thread-safety: every method may be called concurrently from several threads
// and processes; refs.json updates are serialised by flock, blob commits are
// atomic renames of identical content. A BlobWriter is one stream (one thread).
// Errors: ENOENT (unknown blob/reference), EINVAL (digest or size mismatch,
// bad input), or the errno of the failing system call, with the path.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "berth/common/error.h"
#include "berth/common/unique_fd.h"
#include "berth/runtime/image/digest.h"
#include "berth/runtime/image/manifest.h"
#include "berth/runtime/image/reference.h"

namespace berth::runtime::image {

inline constexpr std::string_view kDefaultStoreRoot = "/var/lib/berth/images";

class ImageStore;

// Streams one blob into the store. Content goes to a temp file in ingest/ while
// being hashed; Commit() checks the digest (and size, when expected), fsyncs
// and renames it to blobs/sha256/<hex>. On mismatch, or when the writer is
// destroyed without Commit(), the temp file is deleted.
class BlobWriter {
 public:
  BlobWriter(BlobWriter&&) noexcept;
  BlobWriter& operator=(BlobWriter&&) = delete;
  BlobWriter(const BlobWriter&) = delete;
  ~BlobWriter();

  Status Write(const void* data, size_t len);
  // Returns the digest and size of what was written.
  Result<Descriptor> Commit();
  int64_t written() const { return written_; }

 private:
  friend class ImageStore;
  BlobWriter(const ImageStore* store, std::filesystem::path tmp, UniqueFd fd,
             std::optional<Digest> expected, std::optional<int64_t> expected_size);
  void Discard();

  const ImageStore* store_;
  std::filesystem::path tmp_;
  UniqueFd fd_;
  std::optional<Digest> expected_;
  std::optional<int64_t> expected_size_;
  std::unique_ptr<Sha256Hasher> hasher_;
  int64_t written_ = 0;
  bool done_ = false;
};

// What a reference points at, as stored in refs.json.
struct RefEntry {
  std::string reference;  // the store key, e.g. "docker.io/library/busybox:latest"
  Descriptor target;      // a manifest descriptor
};

class ImageStore {
 public:
  // Creates the directory layout when missing.
  static Result<ImageStore> Open(std::filesystem::path root);

  const std::filesystem::path& root() const { return root_; }

  // --- blobs ---
  std::filesystem::path BlobPath(const Digest& d) const;
  bool HasBlob(const Digest& d) const;
  Result<int64_t> BlobSize(const Digest& d) const;
  // `expected` may be empty: the digest is then whatever the content hashes to.
  Result<BlobWriter> NewBlobWriter(std::optional<Digest> expected,
                                   std::optional<int64_t> expected_size = std::nullopt) const;
  // Writes an in-memory blob (verified when `expected` is set).
  Result<Descriptor> PutBlob(std::string_view data,
                             std::optional<Digest> expected = std::nullopt) const;
  // Streams a file's content into the store, verified against `desc`; a blob
  // already present is not copied again.
  Status PutBlobFromFd(int fd, const Descriptor& desc) const;
  // Reads a small blob (manifest, config, index) of at most `max_size` bytes.
  Result<std::string> ReadBlob(const Digest& d, int64_t max_size = 4 << 20) const;
  Result<UniqueFd> OpenBlob(const Digest& d) const;

  // --- references ---
  // Points `ref` (a reference's StoreKey()) at a manifest descriptor. The
  // manifest blob must already be in the store.
  Status SetRef(const Reference& ref, const Descriptor& manifest) const;
  Result<Descriptor> GetRef(const Reference& ref) const;
  Status DeleteRef(const Reference& ref) const;
  Result<std::vector<RefEntry>> ListRefs() const;

  // --- snapshots (see snapshot.h for creating them) ---
  std::filesystem::path SnapshotDir(const Digest& diff_id) const;
  // The directory holding the layer's files: SnapshotDir()/fs.
  std::filesystem::path SnapshotFsDir(const Digest& diff_id) const;
  // True only when the snapshot was completely unpacked (marker present).
  bool HasSnapshot(const Digest& diff_id) const;

 private:
  explicit ImageStore(std::filesystem::path root) : root_(std::move(root)) {}
  friend class BlobWriter;
  Status CommitBlob(const std::filesystem::path& tmp, const Digest& d) const;

  std::filesystem::path root_;
};

}  // namespace berth::runtime::image
