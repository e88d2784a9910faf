#include "berth/runtime/image/store.h"

#include <thread>

#include <gtest/gtest.h>

#include "image_test_util.h"
#include "test_support.h"

namespace berth::runtime::image {
namespace {

using testing::ReadAll;
using testing::Sha256Hex;
using testing::TempDir;

size_t CountEntries(const std::filesystem::path& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

TEST(ImageStoreTest, OpenMakesLayout) {
  TempDir tmp;
  auto s = ImageStore::Open(tmp.path() / "store");
  ASSERT_OK(s);
  for (const char* d : {"blobs/sha256", "ingest", "snapshots"}) {
    EXPECT_TRUE(std::filesystem::is_directory(tmp.path() / "store" / d)) << d;
  }
}

TEST(ImageStoreTest, PutBlobVerifiesAndStores) {
  TempDir tmp;
  auto s = ImageStore::Open(tmp.path());
  ASSERT_OK(s);
  auto d = s->PutBlob("hello");
  ASSERT_OK(d);
  EXPECT_EQ(d->digest.hex, Sha256Hex("hello"));
  EXPECT_EQ(d->size, 5);
  EXPECT_TRUE(s->HasBlob(d->digest));
  EXPECT_EQ(ReadAll(s->BlobPath(d->digest)), "hello");
  auto again = s->PutBlob("hello", d->digest);
  ASSERT_OK(again);
  EXPECT_EQ(*s->ReadBlob(d->digest), "hello");
  EXPECT_EQ(CountEntries(tmp.path() / "ingest"), 0u);
}

TEST(ImageStoreTest, DigestMismatchDeletesPartialAndNamesBoth) {
  TempDir tmp;
  auto s = ImageStore::Open(tmp.path());
  ASSERT_OK(s);
  Digest want = *ParseDigest("sha256:" + Sha256Hex("expected content"));
  auto w = s->NewBlobWriter(want);
  ASSERT_OK(w);
  ASSERT_OK(w->Write("other", 5));
  EXPECT_EQ(CountEntries(tmp.path() / "ingest"), 1u);
  auto r = w->Commit();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().err(), EINVAL);
  std::string msg = r.error().ToString();
  EXPECT_NE(msg.find(want.String()), std::string::npos) << msg;
  EXPECT_NE(msg.find("sha256:" + Sha256Hex("other")), std::string::npos) << msg;
  EXPECT_EQ(CountEntries(tmp.path() / "ingest"), 0u);
  EXPECT_FALSE(s->HasBlob(want));
  EXPECT_EQ(CountEntries(tmp.path() / "blobs" / "sha256"), 0u);
}

TEST(ImageStoreTest, SizeOverrunAndAbandonedWriterCleanUp) {
  TempDir tmp;
  auto s = ImageStore::Open(tmp.path());
  ASSERT_OK(s);
  {
    auto w = s->NewBlobWriter(std::nullopt, 3);
    ASSERT_OK(w);
    EXPECT_ERRNO(w->Write("toolong", 7), EINVAL);
  }
  {
    auto w = s->NewBlobWriter(std::nullopt);
    ASSERT_OK(w);
    ASSERT_OK(w->Write("abc", 3));
    // Destroyed without Commit: a crash-free abort.
  }
  auto short_blob = s->PutBlob("ab", std::nullopt);
  ASSERT_OK(short_blob);
  auto w = s->NewBlobWriter(std::nullopt, 10);
  ASSERT_OK(w);
  ASSERT_OK(w->Write("abc", 3));
  EXPECT_ERRNO(w->Commit(), EINVAL);
  EXPECT_EQ(CountEntries(tmp.path() / "ingest"), 0u);
}

TEST(ImageStoreTest, References) {
  TempDir tmp;
  auto s = ImageStore::Open(tmp.path());
  ASSERT_OK(s);
  auto ref = ParseReference("busybox");
  ASSERT_OK(ref);
  Descriptor missing;
  missing.media_type = std::string(media_type::kOciManifest);
  missing.digest = *ParseDigest("sha256:" + std::string(64, 'd'));
  EXPECT_ERRNO(s->SetRef(*ref, missing), ENOENT);

  auto blob = s->PutBlob("{}");
  ASSERT_OK(blob);
  Descriptor m = *blob;
  m.media_type = std::string(media_type::kOciManifest);
  ASSERT_OK(s->SetRef(*ref, m));
  auto got = s->GetRef(*ParseReference("docker.io/library/busybox:latest"));
  ASSERT_OK(got);
  EXPECT_EQ(got->digest, m.digest);
  EXPECT_EQ(got->media_type, media_type::kOciManifest);

  auto by_digest = ParseReference("busybox@" + m.digest.String());
  ASSERT_OK(s->SetRef(*by_digest, m));
  auto list = s->ListRefs();
  ASSERT_OK(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].reference, "docker.io/library/busybox:latest");
  EXPECT_EQ((*list)[1].reference, "docker.io/library/busybox@" + m.digest.String());

  // Reopening the store sees the same index (it is on disk).
  auto s2 = ImageStore::Open(tmp.path());
  ASSERT_OK(s2);
  ASSERT_OK(s2->DeleteRef(*ref));
  EXPECT_ERRNO(s->GetRef(*ref), ENOENT);
  EXPECT_ERRNO(s->DeleteRef(*ref), ENOENT);
  EXPECT_EQ(s->ListRefs()->size(), 1u);
}

TEST(ImageStoreTest, ConcurrentSetRefLosesNoUpdate) {
  TempDir tmp;
  auto s = ImageStore::Open(tmp.path());
  ASSERT_OK(s);
  auto blob = s->PutBlob("{}");
  ASSERT_OK(blob);
  Descriptor m = *blob;
  m.media_type = std::string(media_type::kOciManifest);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        auto r = ParseReference("app:t" + std::to_string(t) + "-" + std::to_string(i));
        EXPECT_OK(s->SetRef(*r, m));
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(s->ListRefs()->size(), 40u);
}

TEST(ImageStoreTest, CorruptIndexIsAnError) {
  TempDir tmp;
  auto s = ImageStore::Open(tmp.path());
  ASSERT_OK(s);
  testing::WriteAll(tmp.path() / "refs.json", R"({"refs":{"x":{"digest":1}}})");
  auto r = s->ListRefs();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().ToString().find("refs.x.mediaType"), std::string::npos)
      << r.error().ToString();
}

}  // namespace
}  // namespace berth::runtime::image
