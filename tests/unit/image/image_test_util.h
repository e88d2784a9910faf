// Fixtures for the image tests: a per-test temp directory and a tar builder
// over libarchive's writer (layers, hostile archives, docker/oci archives).
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <unistd.h>

#include <sys/stat.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "berth/runtime/image/digest.h"

namespace berth::runtime::image::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "berth-image-test-XXXXXX").string();
    EXPECT_NE(::mkdtemp(tmpl.data()), nullptr) << "mkdtemp " << tmpl;
    root_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    // Layers may leave read-only directories behind; make them removable.
    for (auto it = std::filesystem::recursive_directory_iterator(root_, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_directory(ec) && !it->is_symlink(ec)) ::chmod(it->path().c_str(), 0700);
    }
    std::filesystem::remove_all(root_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return root_; }

 private:
  std::filesystem::path root_;
};

inline std::string ReadAll(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void WriteAll(const std::filesystem::path& p, const std::string& data) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << data;
}

inline std::string Sha256Hex(const std::string& data) {
  auto d = Sha256Of(data);
  return d.ok() ? d->hex : std::string();
}

// Builds a tar in memory. Compression: "none", "gzip" or "zstd".
class TarBuilder {
 public:
  explicit TarBuilder(const std::string& compression = "none") {
    a_ = archive_write_new();
    archive_write_set_format_pax_restricted(a_);
    if (compression == "gzip") archive_write_add_filter_gzip(a_);
    if (compression == "zstd") archive_write_add_filter_zstd(a_);
    archive_write_set_bytes_in_last_block(a_, 1);
    archive_write_open(a_, this, nullptr, &TarBuilder::WriteCb, nullptr);
  }
  ~TarBuilder() {
    if (a_) archive_write_free(a_);
  }
  TarBuilder(const TarBuilder&) = delete;
  TarBuilder& operator=(const TarBuilder&) = delete;

  TarBuilder& File(const std::string& name, const std::string& data, mode_t mode = 0644,
                   std::map<std::string, std::string> xattrs = {}) {
    archive_entry* e = Entry(name, AE_IFREG, mode);
    archive_entry_set_size(e, static_cast<la_int64_t>(data.size()));
    for (const auto& [k, v] : xattrs)
      archive_entry_xattr_add_entry(e, k.c_str(), v.data(), v.size());
    archive_write_header(a_, e);
    archive_write_data(a_, data.data(), data.size());
    archive_entry_free(e);
    return *this;
  }
  TarBuilder& Dir(const std::string& name, mode_t mode = 0755) {
    return Simple(Entry(name, AE_IFDIR, mode));
  }
  TarBuilder& Symlink(const std::string& name, const std::string& target) {
    archive_entry* e = Entry(name, AE_IFLNK, 0777);
    archive_entry_set_symlink(e, target.c_str());
    return Simple(e);
  }
  TarBuilder& HardLink(const std::string& name, const std::string& target) {
    archive_entry* e = Entry(name, AE_IFREG, 0644);
    archive_entry_set_hardlink(e, target.c_str());
    return Simple(e);
  }
  TarBuilder& CharDev(const std::string& name, unsigned major, unsigned minor) {
    archive_entry* e = Entry(name, AE_IFCHR, 0666);
    archive_entry_set_rdevmajor(e, major);
    archive_entry_set_rdevminor(e, minor);
    return Simple(e);
  }
  TarBuilder& Fifo(const std::string& name) { return Simple(Entry(name, AE_IFIFO, 0644)); }

  std::string Finish() {
    archive_write_close(a_);
    archive_write_free(a_);
    a_ = nullptr;
    return out_;
  }

 private:
  static la_ssize_t WriteCb(archive*, void* self, const void* buf, size_t n) {
    static_cast<TarBuilder*>(self)->out_.append(static_cast<const char*>(buf), n);
    return static_cast<la_ssize_t>(n);
  }
  archive_entry* Entry(const std::string& name, mode_t type, mode_t mode) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, mode);
    archive_entry_set_mtime(e, 1700000000, 0);
    // Owned by whoever runs the test, so chown succeeds without root.
    archive_entry_set_uid(e, ::geteuid());
    archive_entry_set_gid(e, ::getegid());
    return e;
  }
  TarBuilder& Simple(archive_entry* e) {
    archive_write_header(a_, e);
    archive_entry_free(e);
    return *this;
  }

  archive* a_ = nullptr;
  std::string out_;
};

// A ustar header block for `name` declaring `size` bytes, with no data after
// it: what a hostile or truncated tar looks like.
inline std::string RawTarHeader(const std::string& name, uint64_t size) {
  std::string h(512, '\0');
  std::memcpy(&h[0], name.data(), std::min<size_t>(name.size(), 100));
  std::snprintf(&h[100], 8, "%07o", 0644);
  std::snprintf(&h[108], 8, "%07o", 0);
  std::snprintf(&h[116], 8, "%07o", 0);
  std::snprintf(&h[124], 12, "%011llo", static_cast<unsigned long long>(size));
  std::snprintf(&h[136], 12, "%011o", 0);
  h[156] = '0';
  std::memcpy(&h[257],
              "ustar\0"
              "00",
              8);
  std::memset(&h[148], ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  std::snprintf(&h[148], 8, "%06o", sum);
  h[155] = ' ';
  return h;
}

}  // namespace berth::runtime::image::testing
