// Unpack a three-layer image with deletions and an opaque directory, mount it
// as overlayfs in a per-run temp dir and check the merged view is exactly the
// image's. Unmounted in TearDown, also when an assertion fails.
#include <sys/stat.h>

#include <set>

#include <gtest/gtest.h>

#include "image_test_util.h"
#include "test_support.h"

#include "berth/runtime/image/import.h"
#include "berth/runtime/image/overlay.h"
#include "berth/runtime/image/rootfs.h"

namespace berth::runtime::image {
namespace {

using testing::ReadAll;
using testing::Sha256Hex;
using testing::TarBuilder;

class OverlayRootfsTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (mounted_) EXPECT_OK(UnmountOverlay(merged_, /*detach=*/true));
  }

  // Every path under `root`, relative, with a type letter: the merged view.
  std::set<std::string> Tree(const std::filesystem::path& root) {
    std::set<std::string> out;
    for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
      std::string rel = e.path().lexically_relative(root).string();
      out.insert((e.is_symlink() ? "l " : e.is_directory() ? "d " : "f ") + rel);
    }
    return out;
  }

  testing::TempDir tmp_;
  std::filesystem::path merged_;
  bool mounted_ = false;
};

TEST_F(OverlayRootfsTest, ThreeLayersWithDeletionsAndOpaqueDir) {
  REQUIRE_ROOT();
  REQUIRE_FEATURE(berth::testing::Feature::kOverlayfs);

  std::string l1 = TarBuilder("gzip")
                       .Dir("etc")
                       .File("etc/a", "1")
                       .File("etc/b", "1")
                       .Dir("dir")
                       .File("dir/x", "1")
                       .File("dir/y", "1")
                       .File("keep", "1")
                       .Symlink("bin", "usr/bin")
                       .Dir("usr/bin")
                       .File("usr/bin/tool", "t")
                       .Finish();
  std::string l2 = TarBuilder("zstd")
                       .File("etc/.wh.a", "")  // delete a file of layer 1
                       .Dir("dir")
                       .File("dir/.wh..wh..opq", "")  // hide dir/x and dir/y
                       .File("dir/z", "2")
                       .File("new", "2")
                       .Finish();
  std::string l3 = TarBuilder().File("etc/b", "3").File(".wh.keep", "").File("dir/w", "3").Finish();
  // diff_ids are digests of the uncompressed tars: rebuild them uncompressed.
  std::string u1 = TarBuilder()
                       .Dir("etc")
                       .File("etc/a", "1")
                       .File("etc/b", "1")
                       .Dir("dir")
                       .File("dir/x", "1")
                       .File("dir/y", "1")
                       .File("keep", "1")
                       .Symlink("bin", "usr/bin")
                       .Dir("usr/bin")
                       .File("usr/bin/tool", "t")
                       .Finish();
  std::string u2 = TarBuilder()
                       .File("etc/.wh.a", "")
                       .Dir("dir")
                       .File("dir/.wh..wh..opq", "")
                       .File("dir/z", "2")
                       .File("new", "2")
                       .Finish();
  std::string config = R"({"architecture":"amd64","os":"linux","config":{"Cmd":["/bin/tool"]},
    "rootfs":{"type":"layers","diff_ids":["sha256:)" +
                       Sha256Hex(u1) + R"(","sha256:)" + Sha256Hex(u2) + R"(","sha256:)" +
                       Sha256Hex(l3) + R"("]}})";
  std::string manifest = std::string(R"([{"Config":"c.json","RepoTags":["test/three:1"],)") +
                         R"("Layers":["1/layer.tar","2/layer.tar","3/layer.tar"]}])";
  testing::WriteAll(tmp_.path() / "img.tar", TarBuilder()
                                                 .File("1/layer.tar", l1)
                                                 .File("2/layer.tar", l2)
                                                 .File("3/layer.tar", l3)
                                                 .File("c.json", config)
                                                 .File("manifest.json", manifest)
                                                 .Finish());

  auto store = ImageStore::Open(tmp_.path() / "store");
  ASSERT_OK(store);
  ASSERT_OK(ImportDockerArchive(*store, tmp_.path() / "img.tar"));
  auto rootfs = PrepareRootfs(*store, "test/three:1");
  ASSERT_OK(rootfs);
  ASSERT_EQ(rootfs->lowerdirs.size(), 3u);

  merged_ = tmp_.path() / "merged";
  for (const char* d : {"merged", "upper", "work"})
    std::filesystem::create_directories(tmp_.path() / d);
  OverlayMount m;
  m.lowerdirs = rootfs->lowerdirs;
  m.upperdir = tmp_.path() / "upper";
  m.workdir = tmp_.path() / "work";
  m.target = merged_;
  ASSERT_OK(MountOverlay(m));
  mounted_ = true;

  const std::set<std::string> want = {
      "d etc", "f etc/b", "d dir", "f dir/z",   "f dir/w",
      "f new", "l bin",   "d usr", "d usr/bin", "f usr/bin/tool",
  };
  EXPECT_EQ(Tree(merged_), want);
  EXPECT_EQ(ReadAll(merged_ / "etc/b"), "3");
  EXPECT_EQ(ReadAll(merged_ / "dir/z"), "2");
  EXPECT_EQ(ReadAll(merged_ / "bin/tool"), "t");

  // Writes land in the upper dir; the shared snapshots stay untouched.
  testing::WriteAll(merged_ / "etc/b", "changed");
  std::filesystem::remove(merged_ / "new");
  EXPECT_EQ(ReadAll(tmp_.path() / "upper/etc/b"), "changed");
  EXPECT_EQ(ReadAll(rootfs->lowerdirs[0] / "etc/b"), "3");
  EXPECT_TRUE(std::filesystem::exists(rootfs->lowerdirs[1] / "new"));

  ASSERT_OK(UnmountOverlay(merged_));
  mounted_ = false;
  EXPECT_TRUE(std::filesystem::is_empty(merged_));
}

TEST_F(OverlayRootfsTest, ManyLayersPassThePageSizeLimit) {
  REQUIRE_ROOT();
  REQUIRE_FEATURE(berth::testing::Feature::kOverlayfs);
  // 120 lowerdirs with long names: ~12 KiB of options, more than mount(2) takes.
  OverlayMount m;
  for (int i = 0; i < 120; ++i) {
    auto d = tmp_.path() / ("lower-with-a-rather-long-directory-name-" + std::string(40, 'x') +
                            std::to_string(i));
    std::filesystem::create_directories(d);
    testing::WriteAll(d / ("f" + std::to_string(i)), std::to_string(i));
    m.lowerdirs.push_back(d);
  }
  merged_ = tmp_.path() / "merged";
  std::filesystem::create_directories(merged_);
  m.target = merged_;
  auto st = MountOverlay(m);
  if (!st.ok() && st.error().err() == E2BIG)
    GTEST_SKIP() << "kernel lacks lowerdir+: " << st.error().ToString();
  ASSERT_OK(st);
  mounted_ = true;
  EXPECT_EQ(ReadAll(merged_ / "f0"), "0");
  EXPECT_EQ(ReadAll(merged_ / "f119"), "119");
}

}  // namespace
}  // namespace berth::runtime::image
