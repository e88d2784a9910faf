#include "berth/common/file.h"

#include <fcntl.h>

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "test_support.h"

namespace berth {
namespace {

class FileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-file-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(FileTest, AtomicWriteThenRead) {
  auto p = dir_ / "state.json";
  ASSERT_OK(WriteFileAtomic(p, "one"));
  ASSERT_OK(WriteFileAtomic(p, "two"));
  auto got = ReadFile(p);
  ASSERT_OK(got);
  EXPECT_EQ(*got, "two");
  // No temp files left behind.
  int n = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(dir_)) ++n;
  EXPECT_EQ(n, 1);
}

TEST_F(FileTest, ReadMissingNamesPath) {
  auto got = ReadFile(dir_ / "nope");
  EXPECT_ERRNO(got, ENOENT);
  EXPECT_NE(got.error().ToString().find("nope"), std::string::npos);
}

TEST_F(FileTest, WriteFileNeedsExistingFile) {
  EXPECT_ERRNO(WriteFile(dir_ / "absent", "x"), ENOENT);
}

TEST_F(FileTest, MakeDirsNested) {
  ASSERT_OK(MakeDirs(dir_ / "a/b/c"));
  ASSERT_OK(MakeDirs(dir_ / "a/b/c"));
  EXPECT_TRUE(std::filesystem::is_directory(dir_ / "a/b/c"));
}

TEST_F(FileTest, OpenIsCloexec) {
  auto fd = OpenFile(dir_, O_RDONLY | O_DIRECTORY);
  ASSERT_OK(fd);
  EXPECT_TRUE(fcntl(fd->get(), F_GETFD) & FD_CLOEXEC);
}

TEST(Trim, Whitespace) {
  EXPECT_EQ(Trim("  max 100000\n"), "max 100000");
  EXPECT_EQ(Trim("\n"), "");
}

}  // namespace
}  // namespace berth
