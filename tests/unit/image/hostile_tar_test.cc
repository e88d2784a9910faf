// A corpus of hostile layers made here with libarchive's writer: whatever
// each does, nothing outside the layer directory may change.
#include <fcntl.h>

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "image_test_util.h"
#include "test_support.h"

#include "berth/common/file.h"
#include "berth/runtime/image/unpack.h"

namespace berth::runtime::image {
namespace {

using testing::TarBuilder;
using testing::TempDir;

// Path -> type, mode, size, links and content of everything under `root`.
std::map<std::string, std::string> Snapshot(const std::filesystem::path& root) {
  std::map<std::string, std::string> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
    struct stat s;
    ::lstat(e.path().c_str(), &s);
    std::string v = std::to_string(s.st_mode) + "/" + std::to_string(s.st_size) + "/" +
                    std::to_string(s.st_nlink) + "/" + std::to_string(s.st_mtime);
    if (S_ISREG(s.st_mode)) v += "/" + testing::ReadAll(e.path());
    out[e.path().string()] = v;
  }
  return out;
}

struct HostileCase {
  std::string name;
  std::string tar;
  bool must_fail;
  int64_t max_bytes = int64_t{1} << 30;
};

TEST(HostileTarTest, NothingOutsideTheLayerChanges) {
  TempDir tmp;
  const std::filesystem::path outside = tmp.path() / "outside";
  testing::WriteAll(outside / "victim", "precious");
  std::filesystem::create_directories(outside / "dir");
  const std::string abs_outside = outside.string();

  std::vector<HostileCase> cases = {
      {"dotdot", TarBuilder().File("../outside/evil", "x").Finish(), true},
      {"dotdot-nested", TarBuilder().File("a/../../outside/evil", "x").Finish(), true},
      {"dotdot-dir", TarBuilder().Dir("../outside/newdir").Finish(), true},
      {"absolute", TarBuilder().File(abs_outside + "/abs", "x").Finish(), true},
      {"absolute-symlink-parent",
       TarBuilder().Symlink("esc", abs_outside).File("esc/pwned", "x").Finish(), false},
      {"relative-symlink-parent",
       TarBuilder().Symlink("esc", "../../outside").File("esc/pwned", "x").Finish(), false},
      {"symlink-chain",
       TarBuilder().Symlink("a", "b/..").Symlink("b", "../..").Dir("a/outside/dir/x").Finish(),
       false},
      {"symlink-to-root-then-escape",
       TarBuilder().Symlink("r", "/").File("r/../outside/pwned", "x").Finish(), true},
      {"overwrite-through-final-symlink",
       TarBuilder().Symlink("v", abs_outside + "/victim").File("v", "overwritten").Finish(), false},
      {"symlink-then-dir-then-write",
       TarBuilder().Symlink("d", abs_outside + "/dir").Dir("d").File("d/f", "x").Finish(), false},
      {"hardlink-dotdot", TarBuilder().HardLink("h", "../outside/victim").Finish(), true},
      {"hardlink-absolute", TarBuilder().HardLink("h", abs_outside + "/victim").Finish(), true},
      {"hardlink-through-symlink",
       TarBuilder().Symlink("l", abs_outside).HardLink("h", "l/victim").Finish(), true},
      {"hardlink-through-relative-symlink",
       TarBuilder().Symlink("l", "../outside").HardLink("h", "l/victim").Finish(), true},
      {"whiteout-through-symlink",
       TarBuilder().Symlink("s", abs_outside).File("s/.wh.victim", "").Finish(), false},
      {"whiteout-dotdot", TarBuilder().File(".wh...", "").Finish(), true},
      {"opaque-through-symlink",
       TarBuilder().Symlink("s", abs_outside).File("s/.wh..wh..opq", "").Finish(), false},
      {"huge-declared-size",
       testing::RawTarHeader("big", 077777777777ULL) + std::string(1024, '\0'), true,
       int64_t{1} << 20},
      {"over-size-limit", TarBuilder("gzip").File("big", std::string(2 << 20, 'z')).Finish(), true,
       int64_t{1} << 20},
      {"pax-path-too-long", TarBuilder().File(std::string(5000, 'p'), "x").Finish(), true},
  };

  const auto before = Snapshot(outside);
  int n = 0;
  for (const auto& c : cases) {
    std::filesystem::path layer = tmp.path() / ("layer" + std::to_string(n++));
    std::filesystem::create_directories(layer);
    testing::WriteAll(tmp.path() / "in.tar", c.tar);
    auto fd = OpenFile(tmp.path() / "in.tar", O_RDONLY);
    ASSERT_OK(fd);
    UnpackOptions o;
    o.max_bytes = c.max_bytes;
    auto r = UnpackLayer(fd->get(), layer, o);
    if (c.must_fail) {
      EXPECT_FALSE(r.ok()) << c.name << " was accepted";
    }
    if (!r.ok()) {
      EXPECT_NE(r.error().ToString().find("unpack layer"), std::string::npos) << c.name;
    }
    EXPECT_EQ(Snapshot(outside), before)
        << c.name << " changed " << abs_outside << ": " << (r.ok() ? "ok" : r.error().ToString());
    // Only the layer directories and our input file sit next to `outside`.
    for (const auto& e : std::filesystem::directory_iterator(tmp.path())) {
      std::string base = e.path().filename();
      EXPECT_TRUE(base == "outside" || base == "in.tar" || base.rfind("layer", 0) == 0)
          << c.name << " created " << e.path();
    }
  }
}

TEST(HostileTarTest, SizeLimitErrorsAreClear) {
  TempDir tmp;
  testing::WriteAll(tmp.path() / "in.tar",
                    TarBuilder().File("big", std::string(3 << 20, 'z')).Finish());
  std::filesystem::create_directories(tmp.path() / "layer");
  auto fd = OpenFile(tmp.path() / "in.tar", O_RDONLY);
  ASSERT_OK(fd);
  UnpackOptions o;
  o.max_bytes = 1 << 20;
  auto r = UnpackLayer(fd->get(), tmp.path() / "layer", o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().err(), EFBIG);
  EXPECT_NE(r.error().ToString().find("1048576"), std::string::npos) << r.error().ToString();
}

}  // namespace
}  // namespace berth::runtime::image
