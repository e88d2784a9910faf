// Blobs of the ImageStore: verified, crash-safe writes into blobs/sha256/.
#include "berth/runtime/image/store.h"

#include <fcntl.h>
#include <unistd.h>

#include <sys/stat.h>

#include "fs_util.h"

#include "berth/common/file.h"

namespace berth::runtime::image {

Result<ImageStore> ImageStore::Open(std::filesystem::path root) {
  for (const char* sub : {"blobs/sha256", "ingest", "snapshots"}) {
    BERTH_TRY_CTX(MakeDirs(root / sub, 0700), "open image store " + root.string());
  }
  return ImageStore(std::move(root));
}

std::filesystem::path ImageStore::BlobPath(const Digest& d) const {
  return root_ / "blobs" / d.algorithm / d.hex;
}

bool ImageStore::HasBlob(const Digest& d) const {
  struct stat st;
  return ::stat(BlobPath(d).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Result<int64_t> ImageStore::BlobSize(const Digest& d) const {
  struct stat st;
  if (::stat(BlobPath(d).c_str(), &st) < 0) return Error::FromErrno("blob " + d.String());
  return static_cast<int64_t>(st.st_size);
}

Result<UniqueFd> ImageStore::OpenBlob(const Digest& d) const {
  return OpenFile(BlobPath(d), O_RDONLY).Wrap("blob " + d.String());
}

Result<std::string> ImageStore::ReadBlob(const Digest& d, int64_t max_size) const {
  BERTH_ASSIGN_OR_RETURN(int64_t size, BlobSize(d));
  if (size > max_size) {
    return Error::Sys(EFBIG, "blob " + d.String() + " is " + std::to_string(size) +
                                 " bytes, more than the " + std::to_string(max_size) + " allowed");
  }
  return ReadFile(BlobPath(d)).Wrap("blob " + d.String());
}

Result<BlobWriter> ImageStore::NewBlobWriter(std::optional<Digest> expected,
                                             std::optional<int64_t> expected_size) const {
  std::filesystem::path tmp = root_ / "ingest" / detail::TempName("blob");
  BERTH_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600));
  return BlobWriter(this, std::move(tmp), std::move(fd), std::move(expected), expected_size);
}

Result<Descriptor> ImageStore::PutBlob(std::string_view data,
                                       std::optional<Digest> expected) const {
  BERTH_ASSIGN_OR_RETURN(BlobWriter w,
                         NewBlobWriter(std::move(expected), static_cast<int64_t>(data.size())));
  BERTH_TRY(w.Write(data.data(), data.size()));
  return w.Commit();
}

Status ImageStore::PutBlobFromFd(int fd, const Descriptor& desc) const {
  if (HasBlob(desc.digest)) return Ok();
  BERTH_ASSIGN_OR_RETURN(BlobWriter w, NewBlobWriter(desc.digest, desc.size));
  std::string buf(1 << 17, '\0');
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::FromErrno("read blob " + desc.digest.String());
    }
    if (n == 0) break;
    BERTH_TRY(w.Write(buf.data(), static_cast<size_t>(n)));
  }
  BERTH_TRY(w.Commit().Wrap("store blob"));
  return Ok();
}

Status ImageStore::CommitBlob(const std::filesystem::path& tmp, const Digest& d) const {
  std::filesystem::path dst = BlobPath(d);
  // rename(2) over an existing identical blob is harmless: same content.
  if (::rename(tmp.c_str(), dst.c_str()) < 0) {
    return Error::FromErrno("rename " + tmp.string() + " to " + dst.string());
  }
  return detail::FsyncPath(dst.parent_path());
}

std::filesystem::path ImageStore::SnapshotDir(const Digest& diff_id) const {
  return root_ / "snapshots" / diff_id.hex;
}

std::filesystem::path ImageStore::SnapshotFsDir(const Digest& diff_id) const {
  return SnapshotDir(diff_id) / "fs";
}

bool ImageStore::HasSnapshot(const Digest& diff_id) const {
  return ::access((SnapshotDir(diff_id) / "committed").c_str(), F_OK) == 0;
}

BlobWriter::BlobWriter(const ImageStore* store, std::filesystem::path tmp, UniqueFd fd,
                       std::optional<Digest> expected, std::optional<int64_t> expected_size)
    : store_(store),
      tmp_(std::move(tmp)),
      fd_(std::move(fd)),
      expected_(std::move(expected)),
      expected_size_(expected_size),
      hasher_(std::make_unique<Sha256Hasher>()) {}

BlobWriter::BlobWriter(BlobWriter&& o) noexcept
    : store_(o.store_),
      tmp_(std::move(o.tmp_)),
      fd_(std::move(o.fd_)),
      expected_(std::move(o.expected_)),
      expected_size_(o.expected_size_),
      hasher_(std::move(o.hasher_)),
      written_(o.written_),
      done_(std::exchange(o.done_, true)) {}

BlobWriter::~BlobWriter() { Discard(); }

void BlobWriter::Discard() {
  if (done_) return;
  done_ = true;
  fd_.reset();
  // ENOENT cannot happen for our own unique temp name; any other failure
  // leaves a stray file in ingest/ that garbage collection removes.
  (void)::unlink(tmp_.c_str());
}

Status BlobWriter::Write(const void* data, size_t len) {
  if (done_) return Error::Invalid("blob writer already finished");
  if (expected_size_ && written_ + static_cast<int64_t>(len) > *expected_size_) {
    Discard();
    return Error::Invalid("blob " + (expected_ ? expected_->String() : std::string("")) +
                          ": more than the expected " + std::to_string(*expected_size_) + " bytes");
  }
  const char* p = static_cast<const char*>(data);
  size_t off = 0;
  while (off < len) {
    ssize_t n = ::write(fd_.get(), p + off, len - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      Error e = Error::FromErrno("write " + tmp_.string());
      Discard();
      return e;
    }
    off += static_cast<size_t>(n);
  }
  hasher_->Update(data, len);
  written_ += static_cast<int64_t>(len);
  return Ok();
}

Result<Descriptor> BlobWriter::Commit() {
  if (done_) return Error::Invalid("blob writer already finished");
  auto got = hasher_->Finish();
  if (!got.ok()) {
    Discard();
    return std::move(got).error();
  }
  // A short blob (truncated transfer) says so before its digest can differ.
  if (expected_size_ && written_ != *expected_size_) {
    Discard();
    return Error::Invalid((expected_ ? "blob " + expected_->String() : "blob") +
                          ": size mismatch: expected " + std::to_string(*expected_size_) +
                          " bytes, got " + std::to_string(written_));
  }
  if (expected_ && !(*got == *expected_)) {
    Discard();
    return Error::Invalid("digest mismatch: expected " + expected_->String() + ", got " +
                          got->String() + " (" + std::to_string(written_) + " bytes)");
  }
  if (::fsync(fd_.get()) < 0) {
    Error e = Error::FromErrno("fsync " + tmp_.string());
    Discard();
    return e;
  }
  fd_.reset();
  Status s = store_->CommitBlob(tmp_, *got);
  if (!s.ok()) {
    Discard();
    return std::move(s).error();
  }
  done_ = true;
  Descriptor d;
  d.digest = *got;
  d.size = written_;
  return d;
}

}  // namespace berth::runtime::image
