#include "berth/runtime/image/import.h"

#include <sys/stat.h>

#include <thread>

#include <gtest/gtest.h>

#include "image_test_util.h"
#include "test_support.h"

#include "berth/runtime/image/rootfs.h"
#include "berth/runtime/image/snapshot.h"

namespace berth::runtime::image {
namespace {

using testing::ReadAll;
using testing::Sha256Hex;
using testing::TarBuilder;
using testing::TempDir;

std::string ConfigJson(const std::vector<std::string>& diff_ids) {
  std::string ids;
  for (const auto& d : diff_ids) ids += (ids.empty() ? "\"sha256:" : ",\"sha256:") + d + "\"";
  return R"({"architecture":"amd64","os":"linux","config":{"Entrypoint":["/bin/app"],"Cmd":["--port","8080"],
    "Env":["A=1"],"WorkingDir":"/srv","User":"1000","ExposedPorts":{"8080/tcp":{}}},
    "rootfs":{"type":"layers","diff_ids":[)" +
         ids + "]}}";
}

class ImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = ImageStore::Open(tmp_.path() / "store");
    ASSERT_OK(s);
    store_.emplace(std::move(s).value());
    layer1_ = TarBuilder().File("bin/app", "binary", 0755).File("etc/motd", "hello").Finish();
    layer2_ = TarBuilder().File("etc/motd", "second").Finish();
  }

  // docker save layout: <id>/layer.tar, <hex>.json, manifest.json; the second
  // layer is a symlink to a blob, as Docker 25 writes it.
  std::string DockerArchive(const char* repo_tags) {
    std::string config = ConfigJson({Sha256Hex(layer1_), Sha256Hex(layer2_)});
    std::string cfg_name = Sha256Hex(config) + ".json";
    std::string manifest = std::string(R"([{"Config":")") + cfg_name + R"(","RepoTags":)" +
                           repo_tags + R"(,"Layers":["l1/layer.tar","l2/layer.tar"]}])";
    return TarBuilder()
        .File("l1/layer.tar", layer1_)
        .File("blobs/sha256/" + Sha256Hex(layer2_), layer2_)
        .Symlink("l2/layer.tar", "../blobs/sha256/" + Sha256Hex(layer2_))
        .File(cfg_name, config)
        .File("manifest.json", manifest)
        .File("repositories", "{}")
        .Finish();
  }

  // An OCI layout as a tar, with a gzip layer and an index naming a tag.
  std::string OciArchive(bool corrupt_layer = false) {
    std::string gz = TarBuilder("gzip").File("bin/app", "binary", 0755).Finish();
    std::string plain = TarBuilder().File("bin/app", "binary", 0755).Finish();
    std::string config = ConfigJson({Sha256Hex(plain)});
    std::string manifest =
        R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
      "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:)" +
        Sha256Hex(config) + R"(","size":)" + std::to_string(config.size()) + R"(},
      "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:)" +
        Sha256Hex(gz) + R"(","size":)" + std::to_string(gz.size()) + "}]}";
    std::string index =
        R"({"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json",
      "digest":"sha256:)" +
        Sha256Hex(manifest) + R"(","size":)" + std::to_string(manifest.size()) +
        R"(,"annotations":{"org.opencontainers.image.ref.name":"2.0"}}]})";
    std::string layer_content = corrupt_layer ? gz + "tampered" : gz;
    return TarBuilder()
        .File("oci-layout", R"({"imageLayoutVersion":"1.0.0"})")
        .File("index.json", index)
        .File("blobs/sha256/" + Sha256Hex(config), config)
        .File("blobs/sha256/" + Sha256Hex(gz), layer_content)
        .File("blobs/sha256/" + Sha256Hex(manifest), manifest)
        .Finish();
  }

  std::filesystem::path Write(const std::string& name, const std::string& data) {
    testing::WriteAll(tmp_.path() / name, data);
    return tmp_.path() / name;
  }

  TempDir tmp_;
  std::optional<ImageStore> store_;
  std::string layer1_, layer2_;
};

TEST_F(ImportTest, DockerArchiveRoundTrip) {
  auto imported = ImportDockerArchive(
      *store_, Write("d.tar", DockerArchive(R"(["example.com/team/app:1.0","app"])")));
  ASSERT_OK(imported);
  ASSERT_EQ(imported->size(), 2u);
  EXPECT_EQ((*imported)[0].reference, "example.com/team/app:1.0");
  EXPECT_EQ((*imported)[1].reference, "docker.io/library/app:latest");

  auto img = LoadImage(*store_, "example.com/team/app:1.0");
  ASSERT_OK(img);
  ASSERT_EQ(img->manifest.layers.size(), 2u);
  EXPECT_EQ(img->manifest.layers[0].media_type, media_type::kOciLayer);
  EXPECT_EQ(img->config.entrypoint, std::vector<std::string>{"/bin/app"});

  auto rootfs = PrepareRootfs(*store_, "app");
  ASSERT_OK(rootfs);
  ASSERT_EQ(rootfs->lowerdirs.size(), 2u);
  EXPECT_EQ(ReadAll(rootfs->lowerdirs[0] / "etc/motd"), "second");  // top layer first
  EXPECT_EQ(ReadAll(rootfs->lowerdirs[1] / "bin/app"), "binary");
  EXPECT_EQ(rootfs->runtime.args, (std::vector<std::string>{"/bin/app", "--port", "8080"}));
  EXPECT_EQ(rootfs->runtime.cwd, "/srv");
  EXPECT_EQ(rootfs->runtime.user, "1000");
  EXPECT_EQ(rootfs->runtime.exposed_ports, std::vector<std::string>{"8080/tcp"});
  ASSERT_EQ(rootfs->runtime.env.size(), 2u);
  EXPECT_EQ(rootfs->runtime.env[0].rfind("PATH=", 0), 0u);
}

TEST_F(ImportTest, DockerArchiveWithoutTagsNeedsAName) {
  auto tar = Write("d.tar", DockerArchive("null"));
  EXPECT_ERRNO(ImportDockerArchive(*store_, tar), ENOENT);
  ImportOptions o;
  o.name = "local/app:dev";
  auto imported = ImportArchive(*store_, tar, o);
  ASSERT_OK(imported);
  EXPECT_EQ(imported->at(0).reference, "docker.io/local/app:dev");
}

TEST_F(ImportTest, OciArchiveAndExportRoundTrip) {
  ImportOptions o;
  o.name = "registry.local/app";
  auto imported = ImportOciArchive(*store_, Write("o.tar", OciArchive()), o);
  ASSERT_OK(imported);
  ASSERT_EQ(imported->size(), 1u);
  EXPECT_EQ(imported->at(0).reference, "registry.local/app:2.0");

  ASSERT_OK(ExportOciLayout(*store_, {"registry.local/app:2.0"}, tmp_.path() / "layout"));
  EXPECT_TRUE(std::filesystem::exists(tmp_.path() / "layout/oci-layout"));

  auto other = ImageStore::Open(tmp_.path() / "store2");
  ASSERT_OK(other);
  auto again = ImportOciLayout(*other, tmp_.path() / "layout");
  ASSERT_OK(again);
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ(again->at(0).reference, "registry.local/app:2.0");
  EXPECT_EQ(again->at(0).manifest.digest, imported->at(0).manifest.digest);
  auto rootfs = PrepareRootfs(*other, "registry.local/app:2.0");
  ASSERT_OK(rootfs);
  EXPECT_EQ(ReadAll(rootfs->lowerdirs.at(0) / "bin/app"), "binary");
}

TEST_F(ImportTest, CorruptBlobIsRejectedAndNothingIsReferenced) {
  ImportOptions o;
  o.name = "registry.local/app";
  auto r = ImportOciArchive(*store_, Write("o.tar", OciArchive(/*corrupt_layer=*/true)), o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().ToString().find("digest mismatch"), std::string::npos)
      << r.error().ToString();
  EXPECT_TRUE(store_->ListRefs()->empty());
  EXPECT_TRUE(std::filesystem::is_empty(tmp_.path() / "store/ingest"));
}

TEST_F(ImportTest, OciLayoutErrors) {
  std::filesystem::create_directories(tmp_.path() / "empty");
  EXPECT_ERRNO(ImportOciLayout(*store_, tmp_.path() / "empty"), ENOENT);
  testing::WriteAll(tmp_.path() / "v2/oci-layout", R"({"imageLayoutVersion":"2.0.0"})");
  EXPECT_ERRNO(ImportOciLayout(*store_, tmp_.path() / "v2"), EINVAL);
  // A layout whose index names a blob it does not hold.
  testing::WriteAll(tmp_.path() / "missing/oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  testing::WriteAll(
      tmp_.path() / "missing/index.json",
      R"({"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:)" +
          std::string(64, 'e') +
          R"(","size":3,"annotations":{"io.containerd.image.name":"x/y:z"}}]})");
  EXPECT_ERRNO(ImportOciLayout(*store_, tmp_.path() / "missing"), ENOENT);
  EXPECT_TRUE(store_->ListRefs()->empty());
}

TEST_F(ImportTest, SnapshotsAreRedoneAfterACrash) {
  ASSERT_OK(ImportDockerArchive(*store_, Write("d.tar", DockerArchive(R"(["app"])"))));
  auto img = LoadImage(*store_, "app");
  ASSERT_OK(img);
  const Descriptor& layer = img->manifest.layers[0];
  const Digest& diff = img->config.diff_ids[0];

  // Several threads asking for the same snapshot: one unpacks, all agree.
  std::vector<std::thread> threads;
  std::vector<std::string> paths(4);
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      auto p = EnsureSnapshot(*store_, layer, diff);
      EXPECT_OK(p);
      if (p.ok()) paths[i] = p->string();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(paths[0], paths[3]);
  EXPECT_TRUE(store_->HasSnapshot(diff));

  // A crash mid-unpack: no marker, stray content.
  std::filesystem::remove(store_->SnapshotDir(diff) / "committed");
  testing::WriteAll(store_->SnapshotFsDir(diff) / "half-written", "x");
  EXPECT_FALSE(store_->HasSnapshot(diff));
  auto redone = EnsureSnapshot(*store_, layer, diff);
  ASSERT_OK(redone);
  EXPECT_FALSE(std::filesystem::exists(*redone / "half-written"));
  EXPECT_EQ(ReadAll(*redone / "etc/motd"), "hello");
  EXPECT_TRUE(store_->HasSnapshot(diff));

  // A diff_id that does not match the content leaves no snapshot behind.
  Digest wrong = *ParseDigest("sha256:" + std::string(64, '1'));
  auto bad = EnsureSnapshot(*store_, layer, wrong);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().ToString().find("diff_id mismatch"), std::string::npos)
      << bad.error().ToString();
  EXPECT_FALSE(store_->HasSnapshot(wrong));
  EXPECT_FALSE(std::filesystem::exists(store_->SnapshotFsDir(wrong)));
}

}  // namespace
}  // namespace berth::runtime::image
