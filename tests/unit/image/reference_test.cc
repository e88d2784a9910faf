#include "berth/runtime/image/reference.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace berth::runtime::image {
namespace {

struct Case {
  const char* in;
  const char* registry;
  const char* repository;
  const char* tag;
  const char* key;
};

TEST(ReferenceTest, NormalisesLikeDocker) {
  const std::string d = "sha256:" + std::string(64, 'a');
  const Case cases[] = {
      {"busybox", "docker.io", "library/busybox", "latest", "docker.io/library/busybox:latest"},
      {"busybox:1.36", "docker.io", "library/busybox", "1.36", "docker.io/library/busybox:1.36"},
      {"me/app", "docker.io", "me/app", "latest", "docker.io/me/app:latest"},
      {"docker.io/nginx", "docker.io", "library/nginx", "latest", "docker.io/library/nginx:latest"},
      {"index.docker.io/library/nginx:1", "docker.io", "library/nginx", "1",
       "docker.io/library/nginx:1"},
      {"localhost/app", "localhost", "app", "latest", "localhost/app:latest"},
      {"localhost:5000/a/b:v1", "localhost:5000", "a/b", "v1", "localhost:5000/a/b:v1"},
      {"quay.io/x/y", "quay.io", "x/y", "latest", "quay.io/x/y:latest"},
      {"127.0.0.1:5000/app:2", "127.0.0.1:5000", "app", "2", "127.0.0.1:5000/app:2"},
      {"my-reg:80/a__b/c.d-e", "my-reg:80", "a__b/c.d-e", "latest", "my-reg:80/a__b/c.d-e:latest"},
  };
  for (const auto& c : cases) {
    auto r = ParseReference(c.in);
    ASSERT_OK(r);
    EXPECT_EQ(r->registry, c.registry) << c.in;
    EXPECT_EQ(r->repository, c.repository) << c.in;
    EXPECT_EQ(r->tag, c.tag) << c.in;
    EXPECT_EQ(r->StoreKey(), c.key) << c.in;
    EXPECT_FALSE(r->digest.has_value()) << c.in;
  }
}

TEST(ReferenceTest, Digests) {
  const std::string hex(64, 'b');
  auto r = ParseReference("alpine@sha256:" + hex);
  ASSERT_OK(r);
  EXPECT_EQ(r->Name(), "docker.io/library/alpine");
  EXPECT_TRUE(r->tag.empty());
  ASSERT_TRUE(r->digest.has_value());
  EXPECT_EQ(r->digest->hex, hex);
  EXPECT_EQ(r->StoreKey(), "docker.io/library/alpine@sha256:" + hex);

  auto both = ParseReference("reg.example.com:443/a/b:1.0@sha256:" + hex);
  ASSERT_OK(both);
  EXPECT_EQ(both->registry, "reg.example.com:443");
  EXPECT_EQ(both->tag, "1.0");
  EXPECT_EQ(both->String(), "reg.example.com:443/a/b:1.0@sha256:" + hex);
  EXPECT_EQ(both->StoreKey(), "reg.example.com:443/a/b@sha256:" + hex);
}

TEST(ReferenceTest, RejectsMalformed) {
  const std::string bad[] = {
      "",
      "Busybox",     // uppercase repository
      "busybox:",    // empty tag
      "busybox:-x",  // tag starts with '-'
      "busybox:" + std::string(129, 'a'),
      "a//b",
      "a/b/",
      "-a",
      "a..b",
      "busybox@sha256:abc",  // short digest
      "busybox@md5:" + std::string(32, 'a'),
      "busybox@sha256:" + std::string(64, 'A'),
      "reg.io/",
      ":tag",
  };
  for (const auto& s : bad) {
    auto r = ParseReference(s);
    EXPECT_FALSE(r.ok()) << "accepted \"" << s << "\"";
    if (!r.ok()) EXPECT_EQ(r.error().err(), EINVAL) << s;
  }
}

TEST(ReferenceTest, ErrorNamesTheReference) {
  auto r = ParseReference("UPPER/case");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().ToString().find("UPPER/case"), std::string::npos) << r.error().ToString();
}

TEST(DigestTest, ParseAndHash) {
  auto d = ParseDigest("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  ASSERT_OK(d);
  auto empty = Sha256Of("");
  ASSERT_OK(empty);
  EXPECT_EQ(*empty, *d);
  Sha256Hasher h;
  h.Update("ab", 2);
  h.Update("c", 1);
  auto abc = h.Finish();
  ASSERT_OK(abc);
  EXPECT_EQ(abc->hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_ERRNO(ParseDigest("sha512:abc"), EINVAL);
  EXPECT_ERRNO(ParseDigest("nocolon"), EINVAL);
}

}  // namespace
}  // namespace berth::runtime::image
