// libFuzzer target: the layer unpacker on arbitrary bytes (tar, gzip or zstd
// streams). Each input unpacks into a fresh directory inside a per-process
// sandbox; afterwards the sandbox must hold nothing but that directory, or
// an entry escaped and the run aborts.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include "berth/runtime/image/unpack.h"

using namespace berth::runtime::image;

namespace {

void RemoveAll(const std::filesystem::path& p) {
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(p, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec))
      std::filesystem::permissions(it->path(), std::filesystem::perms::owner_all, ec);
  }
  std::filesystem::remove_all(p, ec);
}

std::filesystem::path Sandbox() {
  static std::filesystem::path dir = [] {
    std::string tmpl = (std::filesystem::temp_directory_path() / "berth-tar-fuzz-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    return std::filesystem::path(tmpl);
  }();
  static const bool cleanup = [] {
    std::atexit([] { RemoveAll(dir); });
    return true;
  }();
  (void)cleanup;
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::filesystem::path box = Sandbox();
  const std::filesystem::path layer = box / "layer";
  std::filesystem::create_directory(layer);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) std::abort();
  // Inputs are below the pipe buffer size, so one write never blocks.
  if (size > 60000) size = 60000;
  if (size > 0 && ::write(fds[1], data, size) != static_cast<ssize_t>(size)) std::abort();
  ::close(fds[1]);
  UnpackOptions o;
  o.max_bytes = 16 << 20;
  o.max_entries = 10000;
  o.ignore_chown_errors = true;
  (void)UnpackLayer(fds[0], layer, o);
  ::close(fds[0]);
  for (const auto& e : std::filesystem::directory_iterator(box)) {
    if (e.path().filename() != "layer") std::abort();
  }
  RemoveAll(layer);
  return 0;
}
