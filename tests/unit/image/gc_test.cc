// Garbage collection: what references and leases reach stays, everything
// else (blobs, snapshots, dead ingest files) goes; parallel PrepareRootfs.
#include "berth/runtime/image/gc.h"

#include <gtest/gtest.h>

#include "image_test_util.h"
#include "test_support.h"

#include "berth/runtime/image/import.h"
#include "berth/runtime/image/rootfs.h"

namespace berth::runtime::image {
namespace {

using testing::Sha256Hex;
using testing::TarBuilder;
using testing::TempDir;

// A docker-archive tagged `tag` whose layers are `base` and then `top`.
std::string Archive(const std::string& tag, const std::string& base, const std::string& top) {
  std::string config = R"({"architecture":"amd64","os":"linux","config":{"Cmd":["sh"]},)"
                       R"("rootfs":{"type":"layers","diff_ids":["sha256:)" +
                       Sha256Hex(base) + R"(","sha256:)" + Sha256Hex(top) + R"("]}})";
  std::string cfg = Sha256Hex(config) + ".json";
  return TarBuilder()
      .File("base/layer.tar", base)
      .File("top/layer.tar", top)
      .File(cfg, config)
      .File("manifest.json", R"([{"Config":")" + cfg + R"(","RepoTags":[")" + tag +
                                 R"("],"Layers":["base/layer.tar","top/layer.tar"]}])")
      .Finish();
}

size_t Count(const std::filesystem::path& dir) {
  size_t n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(dir, ec);
       !ec && it != std::filesystem::directory_iterator(); ++it) {
    ++n;
  }
  return n;
}

class GcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = ImageStore::Open(tmp_.path() / "store");
    ASSERT_OK(s);
    store_.emplace(std::move(s).value());
    base_ = TarBuilder().File("bin/sh", "shell", 0755).Finish();
    const std::string a_top = TarBuilder().File("a.txt", "a").Finish();
    const std::string b_top = TarBuilder().File("b.txt", "b").Finish();
    Import("a:1", a_top);
    Import("b:1", b_top);
  }
  void Import(const std::string& tag, const std::string& top) {
    testing::WriteAll(tmp_.path() / "x.tar", Archive(tag, base_, top));
    ASSERT_OK(ImportArchive(*store_, tmp_.path() / "x.tar"));
    ASSERT_OK(PrepareRootfs(*store_, tag, {}, 2));
  }
  std::filesystem::path Blobs() const { return store_->root() / "blobs" / "sha256"; }
  std::filesystem::path Snapshots() const { return store_->root() / "snapshots"; }

  TempDir tmp_;
  std::optional<ImageStore> store_;
  std::string base_;
};

TEST_F(GcTest, NothingReferencedIsRemovedAndNothingElse) {
  // 2 manifests + 2 configs + 3 layers (the base is shared); 3 snapshots.
  EXPECT_EQ(Count(Blobs()), 7u);
  EXPECT_EQ(Count(Snapshots()), 3u);
  auto gc = CollectGarbage(*store_);
  ASSERT_OK(gc);
  EXPECT_EQ(gc->blobs_removed, 0);
  EXPECT_EQ(gc->snapshots_removed, 0);
  EXPECT_EQ(Count(Blobs()), 7u);
}

TEST_F(GcTest, RemovingAReferenceFreesOnlyWhatNoOtherImageUses) {
  ASSERT_OK(store_->DeleteRef(*ParseReference("a:1")));
  auto gc = CollectGarbage(*store_);
  ASSERT_OK(gc);
  EXPECT_EQ(gc->blobs_removed, 3);  // a's manifest, config and top layer
  EXPECT_EQ(gc->snapshots_removed, 1);
  EXPECT_GT(gc->bytes_freed, 0);
  // b still works, shared base included.
  auto b = PrepareRootfs(*store_, "b:1");
  ASSERT_OK(b);
  EXPECT_EQ(b->lowerdirs.size(), 2u);
  EXPECT_TRUE(std::filesystem::exists(b->lowerdirs[1] / "bin" / "sh"));
}

TEST_F(GcTest, LeasesKeepSnapshotsOfRemovedImages) {
  auto img = LoadImage(*store_, "a:1");
  ASSERT_OK(img);
  ASSERT_OK(AddLease(*store_, "container-1", img->config.diff_ids));
  ASSERT_OK(store_->DeleteRef(*ParseReference("a:1")));
  auto gc = CollectGarbage(*store_);
  ASSERT_OK(gc);
  EXPECT_EQ(gc->snapshots_removed, 0);
  EXPECT_TRUE(store_->HasSnapshot(img->config.diff_ids[1]));
  ASSERT_OK(RemoveLease(*store_, "container-1"));
  gc = CollectGarbage(*store_);
  ASSERT_OK(gc);
  EXPECT_EQ(gc->snapshots_removed, 1);
  EXPECT_FALSE(store_->HasSnapshot(img->config.diff_ids[1]));
  EXPECT_FALSE(AddLease(*store_, "../escape", {}).ok());
}

TEST_F(GcTest, DeadIngestFilesGoButAWriterHoldsTheCollectorOff) {
  testing::WriteAll(store_->root() / "ingest" / "crashed-writer", "partial");
  auto gc = CollectGarbage(*store_);
  ASSERT_OK(gc);
  EXPECT_EQ(gc->ingest_removed, 1);
  // While a writer holds the guard, the collector waits for it.
  auto guard = std::make_optional(StoreWriteGuard::Acquire(*store_));
  ASSERT_OK(*guard);
  std::atomic<bool> done{false};
  std::thread collector([&] {
    EXPECT_TRUE(CollectGarbage(*store_).ok());
    done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(done.load());
  guard.reset();
  collector.join();
  EXPECT_TRUE(done.load());
}

}  // namespace
}  // namespace berth::runtime::image
