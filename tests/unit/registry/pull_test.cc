// Pull against an in-process registry: the token and basic auth flows,
// platform selection, mirrors, layer reuse, and the failures that must leave
// nothing half-stored (wrong digests, 401, truncated layers).
#include "berth/runtime/registry/pull.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "../image/image_test_util.h"
#include "fake_registry.h"

#include "berth/runtime/image/store.h"

namespace berth::runtime::registry {
namespace {

namespace fs = std::filesystem;
using image::ImageStore;
using image::testing::Sha256Hex;
using image::testing::TarBuilder;
using image::testing::TempDir;
using testing::Answer;
using testing::FakeRegistry;
using testing::FakeRequest;
using testing::FakeResponse;

struct TestImage {
  std::vector<std::string> layers;  // gzip blobs
  std::string config;
  std::string manifest;
  std::string manifest_digest;
  std::string LayerDigest(size_t i) const { return "sha256:" + Sha256Hex(layers[i]); }
};

std::string Gunzip(const std::string& gz);

// An OCI image whose layer i holds /layer<i>.txt with `content` + i.
TestImage MakeImage(size_t nlayers, const std::string& content = "hello",
                    const std::string& arch = "amd64") {
  TestImage img;
  std::string diff_ids;
  std::string layer_descs;
  for (size_t i = 0; i < nlayers; ++i) {
    TarBuilder plain("none");
    plain.File("layer" + std::to_string(i) + ".txt", content + std::to_string(i));
    std::string tar = plain.Finish();
    TarBuilder gz("gzip");
    gz.File("layer" + std::to_string(i) + ".txt", content + std::to_string(i));
    img.layers.push_back(gz.Finish());
    EXPECT_EQ(Gunzip(img.layers.back()), tar);
    diff_ids += (i ? "," : "") + std::string("\"sha256:") + Sha256Hex(tar) + "\"";
    layer_descs += (i ? "," : "") +
                   std::string(R"({"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip",)") +
                   R"("digest":")" + img.LayerDigest(i) + R"(","size":)" +
                   std::to_string(img.layers[i].size()) + "}";
  }
  img.config = R"({"architecture":")" + arch +
               R"(","os":"linux","config":{"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":[)" +
               diff_ids + "]}}";
  img.manifest =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
      R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:)" +
      Sha256Hex(img.config) + R"(","size":)" + std::to_string(img.config.size()) +
      R"(},"layers":[)" + layer_descs + "]}";
  img.manifest_digest = "sha256:" + Sha256Hex(img.manifest);
  return img;
}

std::string Gunzip(const std::string& gz) {
  archive* a = archive_read_new();
  archive_read_support_filter_gzip(a);
  archive_read_support_format_raw(a);
  archive_read_open_memory(a, gz.data(), gz.size());
  archive_entry* e = nullptr;
  std::string out;
  if (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    char buf[8192];
    la_ssize_t n;
    while ((n = archive_read_data(a, buf, sizeof(buf))) > 0)
      out.append(buf, static_cast<size_t>(n));
  }
  archive_read_free(a);
  return out;
}

void Publish(FakeRegistry& reg, const std::string& repo, const std::string& tag,
             const TestImage& img) {
  for (size_t i = 0; i < img.layers.size(); ++i)
    reg.AddBlob(repo, img.LayerDigest(i), img.layers[i]);
  reg.AddBlob(repo, "sha256:" + Sha256Hex(img.config), img.config);
  reg.AddManifest(repo, tag, "application/vnd.oci.image.manifest.v1+json", img.manifest_digest,
                  img.manifest);
}

size_t CountFiles(const fs::path& dir) {
  size_t n = 0;
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); ++it) ++n;
  return n;
}

class PullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = ImageStore::Open(tmp_.path() / "store");
    ASSERT_TRUE(s.ok()) << s.error().ToString();
    store_.emplace(std::move(*s));
    hosts_.AddInsecure(reg_.host());
  }

  Result<image::ImportedImage> DoPull(const std::string& ref, PullOptions options = {},
                                      ClientOptions client_options = {}) {
    client_options.connect_timeout_seconds = 5;
    RegistryClient client(std::move(client_options));
    return Pull(*store_, client, hosts_, ref, options);
  }

  // Nothing but what `blobs` says is stored, and no reference at all.
  void ExpectNothingHalfStored(size_t blobs = 0) {
    EXPECT_EQ(CountFiles(store_->root() / "ingest"), 0u) << "partial downloads left behind";
    EXPECT_EQ(CountFiles(store_->root() / "blobs" / "sha256"), blobs);
    auto refs = store_->ListRefs();
    ASSERT_TRUE(refs.ok());
    EXPECT_TRUE(refs->empty());
  }

  TempDir tmp_;
  FakeRegistry reg_;
  RegistryHosts hosts_;
  std::optional<ImageStore> store_;
};

TEST_F(PullTest, PullsLayersInParallelAndSetsTheReferenceLast) {
  TestImage img = MakeImage(4);
  Publish(reg_, "berth/app", "1.0", img);
  std::vector<PullProgress> reports;
  PullOptions opts;
  opts.parallel_layers = 4;
  opts.unpack = true;
  opts.progress = [&](const PullProgress& p) { reports.push_back(p); };
  auto r = DoPull(reg_.host() + "/berth/app:1.0", opts);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->reference, reg_.host() + "/berth/app:1.0");
  EXPECT_EQ(r->manifest.digest.String(), img.manifest_digest);
  for (size_t i = 0; i < 4; ++i) {
    auto d = image::ParseDigest(img.LayerDigest(i));
    EXPECT_TRUE(store_->HasBlob(*d));
  }
  auto ref = image::ParseReference(reg_.host() + "/berth/app:1.0");
  auto got = store_->GetRef(*ref);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->digest.String(), img.manifest_digest);
  // Unpacked: each layer's snapshot holds its file.
  size_t snapshots = CountFiles(store_->root() / "snapshots");
  EXPECT_EQ(snapshots, 4u);
  ASSERT_FALSE(reports.empty());
  EXPECT_TRUE(reports.back().finished);
  EXPECT_EQ(reports.back().layers_done, 4);
  EXPECT_EQ(reports.back().bytes_done, reports.back().bytes_total);
  EXPECT_EQ(reports.back().endpoint, reg_.url());
}

TEST_F(PullTest, LayersAlreadyStoredAreNotFetchedAgain) {
  TestImage a = MakeImage(2);
  Publish(reg_, "berth/app", "a", a);
  ASSERT_TRUE(DoPull(reg_.host() + "/berth/app:a").ok());
  // b shares layer 0 and 1 content with a, plus a third layer.
  TestImage b = MakeImage(3);
  ASSERT_EQ(a.layers[0], b.layers[0]);
  Publish(reg_, "berth/app", "b", b);
  auto r = DoPull(reg_.host() + "/berth/app:b");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(reg_.CountRequests("blobs/" + a.LayerDigest(0)), 1);
  EXPECT_EQ(reg_.CountRequests("blobs/" + b.LayerDigest(2)), 1);
}

TEST_F(PullTest, BearerTokenFlowWithCredentials) {
  TestImage img = MakeImage(1);
  Publish(reg_, "berth/private", "v1", img);
  const std::string realm = reg_.url() + "/token";
  std::string token_query;
  reg_.SetHook([&](const FakeRequest& req) -> std::optional<FakeResponse> {
    if (req.path.rfind("/token?", 0) == 0) {
      token_query = req.path;
      auto auth = req.headers.find("authorization");
      if (auth == req.headers.end() || auth->second != "Basic " + Base64Encode("alice:s3cret")) {
        return Answer(401, {}, R"({"errors":[{"code":"UNAUTHORIZED","message":"bad"}]})");
      }
      return Answer(200, {{"Content-Type", "application/json"}}, R"({"token":"tok123"})");
    }
    auto auth = req.headers.find("authorization");
    if (auth == req.headers.end() || auth->second != "Bearer tok123") {
      return Answer(
          401,
          {{"WWW-Authenticate", "Bearer realm=\"" + realm + "\",service=\"fake\",scope=\"x\""}},
          R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})");
    }
    return std::nullopt;
  });
  ClientOptions copts;
  copts.credentials.Set(reg_.host(), Credentials{"alice", "s3cret", ""});
  auto r = DoPull(reg_.host() + "/berth/private:v1", {}, copts);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(token_query, "/token?service=fake&scope=repository%3Aberth%2Fprivate%3Apull");
  // One token for the whole pull: the cache answered the later requests.
  EXPECT_EQ(reg_.CountRequests("/token?service=fake&scope=repository%3Aberth%2Fprivate%3Apull"), 1);
}

TEST_F(PullTest, UnauthorizedWithoutCredentialsIsAClearErrorAndStoresNothing) {
  TestImage img = MakeImage(1);
  Publish(reg_, "berth/private", "v1", img);
  reg_.SetHook([&](const FakeRequest& req) -> std::optional<FakeResponse> {
    if (req.path.rfind("/token", 0) == 0) return Answer(401, {}, "{}");
    return Answer(401, {{"WWW-Authenticate", "Bearer realm=\"" + reg_.url() + "/token\""}}, "");
  });
  auto r = DoPull(reg_.host() + "/berth/private:v1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().err(), EACCES) << r.error().ToString();
  EXPECT_NE(r.error().ToString().find("no credentials for " + reg_.host()), std::string::npos)
      << r.error().ToString();
  ExpectNothingHalfStored();
}

TEST_F(PullTest, BasicAuthFromCredentials) {
  TestImage img = MakeImage(1);
  Publish(reg_, "berth/app", "v1", img);
  reg_.SetHook([&](const FakeRequest& req) -> std::optional<FakeResponse> {
    auto auth = req.headers.find("authorization");
    if (auth == req.headers.end() || auth->second != "Basic " + Base64Encode("bob:pw")) {
      return Answer(401, {{"WWW-Authenticate", "Basic realm=\"Registry\""}}, "");
    }
    return std::nullopt;
  });
  auto denied = DoPull(reg_.host() + "/berth/app:v1");
  ASSERT_FALSE(denied.ok());
  EXPECT_NE(denied.error().ToString().find("requires credentials"), std::string::npos)
      << denied.error().ToString();
  ExpectNothingHalfStored();
  ClientOptions copts;
  copts.credentials.Set(reg_.host(), Credentials{"bob", "pw", ""});
  auto r = DoPull(reg_.host() + "/berth/app:v1", {}, copts);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
}

TEST_F(PullTest, ManifestDigestMismatchNamesBothDigests) {
  TestImage img = MakeImage(1);
  Publish(reg_, "berth/app", "v1", img);
  const std::string bogus = "sha256:" + std::string(64, 'a');
  reg_.SetHook([&](const FakeRequest& req) -> std::optional<FakeResponse> {
    if (req.path.find("/manifests/") == std::string::npos) return std::nullopt;
    return Answer(200,
                  {{"Content-Type", "application/vnd.oci.image.manifest.v1+json"},
                   {"Docker-Content-Digest", bogus}},
                  img.manifest);
  });
  auto r = DoPull(reg_.host() + "/berth/app:v1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().err(), EINVAL);
  EXPECT_NE(r.error().ToString().find(bogus), std::string::npos) << r.error().ToString();
  EXPECT_NE(r.error().ToString().find(img.manifest_digest), std::string::npos);
  ExpectNothingHalfStored();
  // Pulling by digest checks the body against the digest asked for.
  auto by_digest = DoPull(reg_.host() + "/berth/app@" + bogus);
  ASSERT_FALSE(by_digest.ok());
  EXPECT_NE(by_digest.error().ToString().find("asked for " + bogus), std::string::npos);
}

TEST_F(PullTest, CorruptLayerIsRejectedAndNothingIsReferenced) {
  TestImage img = MakeImage(2);
  Publish(reg_, "berth/app", "v1", img);
  std::string corrupt = img.layers[1];
  corrupt[corrupt.size() / 2] ^= 0x55;
  reg_.AddBlob("berth/app", img.LayerDigest(1), corrupt);
  PullOptions opts;
  opts.parallel_layers = 1;
  auto r = DoPull(reg_.host() + "/berth/app:v1", opts);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().ToString().find(img.LayerDigest(1)), std::string::npos)
      << r.error().ToString();
  EXPECT_NE(r.error().ToString().find("sha256:" + Sha256Hex(corrupt)), std::string::npos)
      << r.error().ToString();
  // The config and the good layer stay (the next pull reuses them); no reference.
  ExpectNothingHalfStored(2);
  EXPECT_FALSE(store_->HasBlob(*image::ParseDigest(img.LayerDigest(1))));
}

TEST_F(PullTest, TruncatedLayerFailsThenTheNextPullRedoesOnlyWhatIsMissing) {
  TestImage img = MakeImage(2);
  Publish(reg_, "berth/app", "v1", img);
  const std::string victim = "blobs/" + img.LayerDigest(1);
  bool truncate = true;
  reg_.SetHook([&](const FakeRequest& req) -> std::optional<FakeResponse> {
    if (!truncate || req.path.find(victim) == std::string::npos) return std::nullopt;
    FakeResponse r = Answer(200, {}, img.layers[1]);
    r.truncate_at = img.layers[1].size() / 2;
    return r;
  });
  // One layer at a time, so layer 0 completes before layer 1 fails (in
  // parallel, the failure would cancel layer 0 part-way, also correctly).
  PullOptions sequential;
  sequential.parallel_layers = 1;
  auto r = DoPull(reg_.host() + "/berth/app:v1", sequential);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().err(), EIO) << r.error().ToString();
  ExpectNothingHalfStored(2);  // config and layer 0
  truncate = false;
  auto again = DoPull(reg_.host() + "/berth/app:v1");
  ASSERT_TRUE(again.ok()) << again.error().ToString();
  EXPECT_EQ(reg_.CountRequests("blobs/" + img.LayerDigest(0)), 1);
  EXPECT_EQ(reg_.CountRequests(victim), 2);
}

TEST_F(PullTest, ManifestListChoosesThePlatform) {
  TestImage amd = MakeImage(1, "amd");
  TestImage arm = MakeImage(1, "arm", "arm64");
  Publish(reg_, "berth/multi", "", amd);
  Publish(reg_, "berth/multi", "", arm);
  auto desc = [](const TestImage& i, const std::string& arch, const std::string& variant) {
    return R"({"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":")" +
           i.manifest_digest + R"(","size":)" + std::to_string(i.manifest.size()) +
           R"(,"platform":{"os":"linux","architecture":")" + arch + "\"" +
           (variant.empty() ? "" : R"(,"variant":")" + variant + "\"") + "}}";
  };
  const std::string list =
      R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[)" +
      desc(arm, "arm64", "v8") + "," + desc(amd, "amd64", "") + "]}";
  reg_.AddManifest("berth/multi", "latest",
                   "application/vnd.docker.distribution.manifest.list.v2+json",
                   "sha256:" + Sha256Hex(list), list);
  auto r = DoPull(reg_.host() + "/berth/multi");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->manifest.digest.String(), amd.manifest_digest);
  PullOptions arm_opts;
  arm_opts.platform = *image::ParsePlatform("linux/arm64");
  auto r2 = DoPull(reg_.host() + "/berth/multi:latest", arm_opts);
  ASSERT_TRUE(r2.ok()) << r2.error().ToString();
  EXPECT_EQ(r2->manifest.digest.String(), arm.manifest_digest);
  PullOptions s390;
  s390.platform = *image::ParsePlatform("linux/s390x");
  auto none = DoPull(reg_.host() + "/berth/multi:latest", s390);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().ToString().find("linux/amd64"), std::string::npos)
      << none.error().ToString();
}

TEST_F(PullTest, MirrorsAreTriedInOrderBeforeTheRegistry) {
  TestImage img = MakeImage(2);
  FakeRegistry broken;  // answers 500 to everything
  broken.SetHook([](const FakeRequest&) { return Answer(500, {}, "down"); });
  FakeRegistry mirror;
  Publish(mirror, "library/nginx", "1.14.2", img);
  // The registry itself is a fake too (nothing leaves loopback); it must not be asked.
  const std::string upstream = reg_.host();
  Endpoint m1{broken.host(), "", true, true};
  Endpoint m2{mirror.host(), "", true, true};
  hosts_.AddMirror(upstream, m1);
  hosts_.AddMirror(upstream, m2);
  auto r = DoPull(upstream + "/library/nginx:1.14.2");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->manifest.digest.String(), img.manifest_digest);
  EXPECT_EQ(r->reference, upstream + "/library/nginx:1.14.2");
  EXPECT_GE(broken.CountRequests("manifests/1.14.2"), 1);
  EXPECT_EQ(reg_.requests().size(), 0u);
  // A mirror without the image falls through to the registry.
  Publish(reg_, "library/redis", "7", MakeImage(1, "redis"));
  auto r2 = DoPull(upstream + "/library/redis:7");
  ASSERT_TRUE(r2.ok()) << r2.error().ToString();
  EXPECT_EQ(mirror.CountRequests("manifests/7"), 1);
}

TEST_F(PullTest, UnknownImageAndPlainHttpRefusal) {
  auto r = DoPull(reg_.host() + "/berth/nothing:1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().err(), ENOENT);
  EXPECT_NE(r.error().ToString().find("NAME_UNKNOWN"), std::string::npos) << r.error().ToString();
  // Without --insecure-registry the client speaks only HTTPS: the plain HTTP
  // server cannot complete a TLS handshake.
  RegistryHosts secure;
  ClientOptions copts;
  copts.connect_timeout_seconds = 5;
  RegistryClient client(std::move(copts));
  auto tls = Pull(*store_, client, secure, reg_.host() + "/berth/nothing:1");
  ASSERT_FALSE(tls.ok());
  EXPECT_EQ(tls.error().err(), EIO) << tls.error().ToString();
  EXPECT_NE(tls.error().ToString().find("https://" + reg_.host()), std::string::npos);
}

}  // namespace
}  // namespace berth::runtime::registry
