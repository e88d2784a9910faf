#include "berth/runtime/image/manifest.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace berth::runtime::image {
namespace {

const std::string kA = "sha256:" + std::string(64, 'a');
const std::string kB = "sha256:" + std::string(64, 'b');
const std::string kC = "sha256:" + std::string(64, 'c');

std::string OciManifest(
    const std::string& layer_type = "application/vnd.oci.image.layer.v1.tar+gzip") {
  return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
    "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
         kA +
         R"(","size":100},
    "layers":[{"mediaType":")" +
         layer_type + R"(","digest":")" + kB + R"(","size":2000},
              {"mediaType":"application/vnd.oci.image.layer.v1.tar+zstd","digest":")" +
         kC +
         R"(","size":3}],
    "annotations":{"org.example":"x"}})";
}

TEST(ManifestTest, ParsesOciManifest) {
  auto m = ParseManifest(OciManifest());
  ASSERT_OK(m);
  EXPECT_EQ(m->config.digest.String(), kA);
  EXPECT_EQ(m->config.size, 100);
  ASSERT_EQ(m->layers.size(), 2u);
  EXPECT_EQ(m->layers[0].media_type, media_type::kOciLayerGzip);
  EXPECT_EQ(m->layers[1].digest.String(), kC);
  EXPECT_EQ(m->annotations.at("org.example"), "x");
}

TEST(ManifestTest, ParsesDockerSchema2) {
  std::string json = R"({"schemaVersion":2,
    "mediaType":"application/vnd.docker.distribution.manifest.v2+json",
    "config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":7023,"digest":")" +
                     kA + R"("},
    "layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":32654,"digest":")" +
                     kB + R"("}]})";
  auto m = ParseManifest(json);
  ASSERT_OK(m);
  EXPECT_EQ(m->media_type, media_type::kDockerManifest);
  EXPECT_EQ(m->layers.at(0).size, 32654);
}

TEST(ManifestTest, RoundTripsThroughSerialize) {
  auto m = ParseManifest(OciManifest());
  ASSERT_OK(m);
  auto again = ParseManifest(SerializeManifest(*m));
  ASSERT_OK(again);
  EXPECT_EQ(again->layers.size(), 2u);
  EXPECT_EQ(again->layers[1].digest, m->layers[1].digest);
}

struct BadCase {
  std::string json;
  std::string path;  // expected in the error
};

TEST(ManifestTest, ErrorsNameTheJsonPath) {
  std::string good = OciManifest();
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    size_t p = s.find(from);
    EXPECT_NE(p, std::string::npos) << from;
    return s.replace(p, from.size(), to);
  };
  const BadCase cases[] = {
      {"{", "invalid JSON"},
      {"[]", "expected a JSON object"},
      {replace("\"schemaVersion\":2", "\"schemaVersion\":1"), "manifest.schemaVersion"},
      {replace("\"size\":2000", "\"size\":\"2000\""), "manifest.layers[0].size"},
      {replace("\"size\":3", "\"size\":-3"), "manifest.layers[1].size"},
      {replace(kB, "sha256:zz"), "manifest.layers[0].digest"},
      {OciManifest("text/plain"), "manifest.layers[0].mediaType"},
      {replace("application/vnd.oci.image.config.v1+json", "application/x"),
       "manifest.config.mediaType"},
      {replace("\"layers\":[", "\"layerz\":["), "manifest.layers"},
      {replace("application/vnd.oci.image.manifest.v1+json",
               "application/vnd.oci.image.index.v1+json"),
       "manifest.mediaType"},
      {replace("\"annotations\":{\"org.example\":\"x\"}", "\"annotations\":{\"org.example\":1}"),
       "manifest.annotations.org.example"},
  };
  for (const auto& c : cases) {
    auto m = ParseManifest(c.json);
    ASSERT_FALSE(m.ok()) << c.json;
    EXPECT_EQ(m.error().err(), EINVAL);
    EXPECT_NE(m.error().ToString().find(c.path), std::string::npos)
        << "want " << c.path << " in: " << m.error().ToString();
  }
}

std::string TwoPlatformIndex(const char* type = "application/vnd.oci.image.index.v1+json") {
  return std::string(R"({"schemaVersion":2,"mediaType":")") + type + R"(","manifests":[
    {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
         kA +
         R"(","size":1,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}},
    {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
         kB + R"(","size":2,"platform":{"os":"linux","architecture":"amd64"}}]})";
}

TEST(IndexTest, SelectsPlatform) {
  auto idx = ParseIndex(TwoPlatformIndex());
  ASSERT_OK(idx);
  auto amd = SelectPlatform(*idx, Platform{"linux", "amd64", ""});
  ASSERT_OK(amd);
  EXPECT_EQ(amd->digest.String(), kB);
  auto arm = SelectPlatform(*idx, *ParsePlatform("linux/arm64/v8"));
  ASSERT_OK(arm);
  EXPECT_EQ(arm->digest.String(), kA);
  auto none = SelectPlatform(*idx, *ParsePlatform("linux/s390x"));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().err(), ENOENT);
  EXPECT_NE(none.error().ToString().find("linux/arm64/v8, linux/amd64"), std::string::npos)
      << none.error().ToString();
}

TEST(IndexTest, AcceptsDockerManifestList) {
  auto idx =
      ParseIndex(TwoPlatformIndex("application/vnd.docker.distribution.manifest.list.v2+json"));
  ASSERT_OK(idx);
  EXPECT_EQ(idx->manifests.size(), 2u);
}

TEST(IndexTest, RejectsBadIndexes) {
  EXPECT_ERRNO(ParseIndex(R"({"schemaVersion":2})"), EINVAL);
  auto r = ParseIndex(
      R"({"schemaVersion":2,"manifests":[{"mediaType":"x","digest":"sha256:1","size":1}]})");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().ToString().find("index.manifests[0].digest"), std::string::npos)
      << r.error().ToString();
  auto p = ParseIndex(R"({"schemaVersion":2,"manifests":[{"mediaType":"x","digest":")" + kA +
                      R"(","size":1,"platform":{"os":"linux"}}]})");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().ToString().find("index.manifests[0].platform.architecture"),
            std::string::npos)
      << p.error().ToString();
  EXPECT_ERRNO(
      ParseIndex(
          R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","manifests":[]})"),
      EINVAL);
}

TEST(ImageConfigTest, ParsesRuntimeFields) {
  std::string json = R"({"architecture":"amd64","os":"linux",
    "config":{"User":"1000:1000","Env":["PATH=/bin","A=b"],"Entrypoint":["/bin/sh","-c"],
              "Cmd":["echo hi"],"WorkingDir":"/srv","ExposedPorts":{"8080/tcp":{},"53/udp":{}},
              "Labels":{"l":"v"},"StopSignal":"SIGTERM","Volumes":{"/data":{}}},
    "rootfs":{"type":"layers","diff_ids":[")" +
                     kA + R"(",")" + kB + R"("]},
    "history":[{"created_by":"x"}]})";
  auto c = ParseImageConfig(json);
  ASSERT_OK(c);
  EXPECT_EQ(c->user, "1000:1000");
  EXPECT_EQ(c->env, (std::vector<std::string>{"PATH=/bin", "A=b"}));
  EXPECT_EQ(c->entrypoint, (std::vector<std::string>{"/bin/sh", "-c"}));
  EXPECT_EQ(c->cmd, (std::vector<std::string>{"echo hi"}));
  EXPECT_EQ(c->working_dir, "/srv");
  EXPECT_EQ(c->exposed_ports, (std::vector<std::string>{"53/udp", "8080/tcp"}));
  EXPECT_EQ(c->volumes, (std::vector<std::string>{"/data"}));
  EXPECT_EQ(c->labels.at("l"), "v");
  EXPECT_EQ(c->stop_signal, "SIGTERM");
  ASSERT_EQ(c->diff_ids.size(), 2u);
  EXPECT_EQ(c->diff_ids[1].String(), kB);
}

TEST(ImageConfigTest, NullConfigAndErrors) {
  auto c = ParseImageConfig(R"({"config":null,"rootfs":{"type":"layers","diff_ids":[]}})");
  ASSERT_OK(c);
  EXPECT_TRUE(c->cmd.empty());
  const std::pair<std::string, std::string> bad[] = {
      {R"({"config":{}})", "config.rootfs"},
      {R"({"rootfs":{"type":"tar","diff_ids":[]}})", "config.rootfs.type"},
      {R"({"rootfs":{"type":"layers","diff_ids":["x"]}})", "config.rootfs.diff_ids[0]"},
      {R"({"config":{"Cmd":"ls"},"rootfs":{"type":"layers"}})", "config.config.Cmd"},
      {R"({"config":{"Env":["A",3]},"rootfs":{"type":"layers"}})", "config.config.Env[1]"},
      {R"({"config":{"ExposedPorts":[]},"rootfs":{"type":"layers"}})",
       "config.config.ExposedPorts"},
  };
  for (const auto& [json, path] : bad) {
    auto r = ParseImageConfig(json);
    ASSERT_FALSE(r.ok()) << json;
    EXPECT_NE(r.error().ToString().find(path), std::string::npos)
        << "want " << path << " in: " << r.error().ToString();
  }
}

TEST(PlatformTest, Parse) {
  EXPECT_EQ(ParsePlatform("linux/arm64/v8")->String(), "linux/arm64/v8");
  EXPECT_EQ(ParsePlatform("linux/amd64")->variant, "");
  EXPECT_ERRNO(ParsePlatform("linux"), EINVAL);
  EXPECT_ERRNO(ParsePlatform("linux/"), EINVAL);
  EXPECT_EQ(HostPlatform().os, "linux");
}

}  // namespace
}  // namespace berth::runtime::image
