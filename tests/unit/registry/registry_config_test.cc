// Hosts/mirrors configuration, docker config.json credentials and
// WWW-Authenticate parsing.
#include <gtest/gtest.h>

#include "berth/runtime/registry/auth.h"
#include "berth/runtime/registry/hosts.h"

namespace berth::runtime::registry {
namespace {

TEST(RegistryHostsTest, MirrorsComeFirstThenTheRegistry) {
  auto hosts = RegistryHosts::Parse(R"({"registries": {"docker.io": {"mirrors": [
      {"host": "10.0.0.5:5000", "insecure": true},
      {"host": "mirror.example.com/dockerhub/"}]}}})",
                                    "registries.json");
  ASSERT_TRUE(hosts.ok()) << hosts.error().ToString();
  auto eps = hosts->EndpointsFor("docker.io");
  ASSERT_EQ(eps.size(), 3u);
  EXPECT_EQ(eps[0].BaseUrl(), "http://10.0.0.5:5000");
  EXPECT_TRUE(eps[0].mirror);
  EXPECT_EQ(eps[1].BaseUrl(), "https://mirror.example.com/dockerhub");
  EXPECT_EQ(eps[2].BaseUrl(), "https://registry-1.docker.io");
  EXPECT_FALSE(eps[2].mirror);
}

TEST(RegistryHostsTest, UnconfiguredRegistryIsHttpsAndInsecureFlagMakesItHttp) {
  RegistryHosts hosts;
  EXPECT_EQ(hosts.EndpointsFor("quay.io").at(0).BaseUrl(), "https://quay.io");
  hosts.AddInsecure("127.0.0.1:5000");
  auto eps = hosts.EndpointsFor("127.0.0.1:5000");
  ASSERT_EQ(eps.size(), 1u);
  EXPECT_EQ(eps[0].BaseUrl(), "http://127.0.0.1:5000");
}

TEST(RegistryHostsTest, ErrorsNameTheJsonPath) {
  auto r = RegistryHosts::Parse(R"({"registries": {"docker.io": {"mirrors": [{"host": 5}]}}})",
                                "r.json");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().ToString().find("r.json.registries[\"docker.io\"].mirrors[0].host"),
            std::string::npos)
      << r.error().ToString();
  r = RegistryHosts::Parse(R"({"registries": {"x": {"mirorrs": []}}})", "r.json");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().ToString().find("mirorrs: unknown field"), std::string::npos);
  r = RegistryHosts::Parse(R"({"registries": {"x": {"mirrors": [{"host": "http://m"}]}}})",
                           "r.json");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().ToString().find("without a scheme"), std::string::npos);
}

TEST(RegistryHostsTest, MissingFileIsEmptyConfig) {
  auto r = RegistryHosts::Load("/nonexistent/berth/registries.json");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->EndpointsFor("docker.io").size(), 1u);
}

TEST(CredentialStoreTest, ReadsAuthAndUsernamePasswordForms) {
  // "dXNlcjpwYXNz" is base64("user:pass").
  auto s = CredentialStore::Parse(R"({"auths": {
      "https://index.docker.io/v1/": {"auth": "dXNlcjpwYXNz"},
      "127.0.0.1:5000": {"username": "alice", "password": "s3cret"},
      "helper.example.com": {}}})",
                                  "config.json");
  ASSERT_TRUE(s.ok()) << s.error().ToString();
  auto hub = s->Find("docker.io");
  ASSERT_TRUE(hub.has_value());
  EXPECT_EQ(hub->username, "user");
  EXPECT_EQ(hub->password, "pass");
  auto local = s->Find("127.0.0.1:5000");
  ASSERT_TRUE(local.has_value());
  EXPECT_EQ(local->username, "alice");
  EXPECT_FALSE(s->Find("helper.example.com").has_value());
  EXPECT_FALSE(s->Find("quay.io").has_value());
}

TEST(CredentialStoreTest, BadAuthNamesTheEntry) {
  auto s = CredentialStore::Parse(R"({"auths": {"r.io": {"auth": "bm9jb2xvbg=="}}})", "c.json");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().ToString().find("c.json.auths[\"r.io\"].auth: expected user:password"),
            std::string::npos)
      << s.error().ToString();
}

TEST(WwwAuthenticateTest, BearerWithQuotedParams) {
  auto c = ParseWwwAuthenticate(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull")");
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  ASSERT_EQ(c->size(), 1u);
  EXPECT_EQ((*c)[0].scheme, "bearer");
  EXPECT_EQ((*c)[0].params.at("realm"), "https://auth.docker.io/token");
  EXPECT_EQ((*c)[0].params.at("service"), "registry.docker.io");
  EXPECT_EQ((*c)[0].params.at("scope"), "repository:library/busybox:pull");
}

TEST(WwwAuthenticateTest, SeveralChallengesAndTokens) {
  auto c = ParseWwwAuthenticate(R"(Basic realm="Registry Realm", Bearer realm=x,service="a\"b")");
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  ASSERT_EQ(c->size(), 2u);
  EXPECT_EQ((*c)[0].scheme, "basic");
  EXPECT_EQ((*c)[0].params.at("realm"), "Registry Realm");
  EXPECT_EQ((*c)[1].params.at("realm"), "x");
  EXPECT_EQ((*c)[1].params.at("service"), "a\"b");
}

TEST(WwwAuthenticateTest, MalformedIsAnError) {
  EXPECT_FALSE(ParseWwwAuthenticate("").ok());
  EXPECT_FALSE(ParseWwwAuthenticate(R"(Bearer realm="unterminated)").ok());
}

TEST(Base64Test, RoundTrips) {
  for (const std::string& s :
       std::vector<std::string>{"", "a", "ab", "abc", "user:pass", std::string("\0\xff\x10", 3)}) {
    auto d = Base64Decode(Base64Encode(s));
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(*d, s);
  }
  EXPECT_EQ(Base64Encode("user:pass"), "dXNlcjpwYXNz");
  EXPECT_FALSE(Base64Decode("abc").ok());
}

}  // namespace
}  // namespace berth::runtime::registry
