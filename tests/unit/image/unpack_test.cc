#include "berth/runtime/image/unpack.h"

#include <fcntl.h>

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <gtest/gtest.h>

#include "image_test_util.h"
#include "test_support.h"

#include "berth/common/file.h"

namespace berth::runtime::image {
namespace {

using testing::ReadAll;
using testing::TarBuilder;
using testing::TempDir;

class UnpackTest : public ::testing::Test {
 protected:
  // Unpacks `tar` into a fresh directory and returns the result.
  Result<UnpackStats> Unpack(const std::string& tar, const UnpackOptions& o = {}) {
    dest_ = tmp_.path() / ("layer" + std::to_string(++n_));
    std::filesystem::create_directories(dest_);
    std::filesystem::path file = tmp_.path() / ("layer" + std::to_string(n_) + ".tar");
    testing::WriteAll(file, tar);
    auto fd = OpenFile(file, O_RDONLY);
    if (!fd.ok()) return std::move(fd).error();
    return UnpackLayer(fd->get(), dest_, o);
  }

  std::string Xattr(const std::filesystem::path& p, const char* name) {
    char buf[64];
    ssize_t n = ::lgetxattr(p.c_str(), name, buf, sizeof(buf));
    return n < 0 ? std::string("<errno ") + std::to_string(errno) + ">" : std::string(buf, n);
  }

  TempDir tmp_;
  std::filesystem::path dest_;
  int n_ = 0;
};

class UnpackCompressionTest : public UnpackTest,
                              public ::testing::WithParamInterface<const char*> {};

TEST_P(UnpackCompressionTest, CreatesEveryEntryType) {
  std::string tar = TarBuilder(GetParam())
                        .Dir("etc", 0750)
                        .File("etc/hosts", "127.0.0.1 localhost\n", 0640, {{"user.berth", "v1"}})
                        .File("bin/tool", "#!/bin/sh\n", 04755)  // parent not listed
                        .Symlink("bin/sh", "tool")
                        .Symlink("abs", "/etc/hosts")
                        .HardLink("etc/hosts.bak", "etc/hosts")
                        .Fifo("run/fifo")
                        .Finish();
  auto st = Unpack(tar);
  ASSERT_OK(st);
  EXPECT_EQ(st->entries, 7);
  EXPECT_EQ(st->diff_id.hex, testing::Sha256Hex(TarBuilder("none")
                                                    .Dir("etc", 0750)
                                                    .File("etc/hosts", "127.0.0.1 localhost\n",
                                                          0640, {{"user.berth", "v1"}})
                                                    .File("bin/tool", "#!/bin/sh\n", 04755)
                                                    .Symlink("bin/sh", "tool")
                                                    .Symlink("abs", "/etc/hosts")
                                                    .HardLink("etc/hosts.bak", "etc/hosts")
                                                    .Fifo("run/fifo")
                                                    .Finish()));
  struct stat s;
  ASSERT_EQ(::lstat((dest_ / "etc").c_str(), &s), 0);
  EXPECT_TRUE(S_ISDIR(s.st_mode));
  EXPECT_EQ(s.st_mode & 07777, 0750u);
  EXPECT_EQ(s.st_mtime, 1700000000);
  EXPECT_EQ(ReadAll(dest_ / "etc/hosts"), "127.0.0.1 localhost\n");
  ASSERT_EQ(::lstat((dest_ / "etc/hosts").c_str(), &s), 0);
  EXPECT_EQ(s.st_mode & 07777, 0640u);
  EXPECT_EQ(s.st_nlink, 2u);
  EXPECT_EQ(s.st_mtime, 1700000000);
  EXPECT_EQ(Xattr(dest_ / "etc/hosts", "user.berth"), "v1");
  if (berth::testing::IsRoot()) {
    ASSERT_EQ(::lstat((dest_ / "bin/tool").c_str(), &s), 0);
    EXPECT_EQ(s.st_mode & 07777, 04755u);  // set-uid survives the chown
  }
  EXPECT_EQ(std::filesystem::read_symlink(dest_ / "bin/sh"), "tool");
  EXPECT_EQ(std::filesystem::read_symlink(dest_ / "abs"), "/etc/hosts");
  ASSERT_EQ(::lstat((dest_ / "run/fifo").c_str(), &s), 0);
  EXPECT_TRUE(S_ISFIFO(s.st_mode));
}

INSTANTIATE_TEST_SUITE_P(Compression, UnpackCompressionTest,
                         ::testing::Values("none", "gzip", "zstd"));

TEST_F(UnpackTest, ReadOnlyDirectoryModeIsAppliedLast) {
  auto st = Unpack(TarBuilder()
                       .Dir("ro", 0555)
                       .File("ro/f", "x")
                       .Dir("ro/sub", 0500)
                       .File("ro/sub/g", "y")
                       .Finish());
  ASSERT_OK(st);
  struct stat s;
  ASSERT_EQ(::stat((dest_ / "ro").c_str(), &s), 0);
  EXPECT_EQ(s.st_mode & 07777, 0555u);
  EXPECT_EQ(ReadAll(dest_ / "ro/sub/g"), "y");
}

TEST_F(UnpackTest, LaterEntriesReplaceEarlierOnes) {
  auto st = Unpack(TarBuilder()
                       .File("x", "file")
                       .Dir("x")  // file -> dir
                       .File("x/in", "1")
                       .File("y", "old")
                       .File("y", "new")  // file -> file
                       .Dir("z")
                       .File("z/a", "1")
                       .Symlink("z", "x")  // dir -> symlink
                       .Finish());
  ASSERT_OK(st);
  EXPECT_TRUE(std::filesystem::is_directory(dest_ / "x"));
  EXPECT_EQ(ReadAll(dest_ / "y"), "new");
  EXPECT_TRUE(std::filesystem::is_symlink(dest_ / "z"));
}

TEST_F(UnpackTest, DiffIdIsVerified) {
  std::string tar = TarBuilder("gzip").File("a", "1").Finish();
  std::string plain = TarBuilder().File("a", "1").Finish();
  UnpackOptions o;
  o.diff_id = *ParseDigest("sha256:" + testing::Sha256Hex(plain));
  ASSERT_OK(Unpack(tar, o));
  o.diff_id = *ParseDigest("sha256:" + std::string(64, '0'));
  auto bad = Unpack(tar, o);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().err(), EINVAL);
  EXPECT_NE(bad.error().ToString().find("sha256:" + testing::Sha256Hex(plain)), std::string::npos)
      << bad.error().ToString();
}

TEST_F(UnpackTest, GarbageIsAnError) {
  EXPECT_FALSE(Unpack("this is not a tar archive, not even close").ok());
  EXPECT_FALSE(Unpack("").ok());
  std::string tar = TarBuilder().File("a", std::string(5000, 'x')).Finish();
  EXPECT_FALSE(Unpack(tar.substr(0, 1500)).ok());  // truncated mid-file
}

TEST_F(UnpackTest, WhiteoutsBecomeOverlayWhiteouts) {
  REQUIRE_ROOT();  // mknod of the 0:0 device and trusted.* xattrs
  auto st = Unpack(TarBuilder()
                       .File("gone", "x")  // same-layer entry, then its whiteout
                       .File(".wh.gone", "")
                       .File("etc/.wh.passwd", "")
                       .Dir("opq")
                       .File("opq/.wh..wh..opq", "")
                       .File("opq/kept", "k")
                       .File(".wh..wh.plnk", "")
                       .Finish());
  ASSERT_OK(st);
  EXPECT_EQ(st->whiteouts, 2);
  EXPECT_EQ(st->opaque_dirs, 1);
  for (const char* p : {"gone", "etc/passwd"}) {
    struct stat s;
    ASSERT_EQ(::lstat((dest_ / p).c_str(), &s), 0) << p;
    EXPECT_TRUE(S_ISCHR(s.st_mode)) << p;
    EXPECT_EQ(s.st_rdev, makedev(0, 0)) << p;
  }
  EXPECT_FALSE(std::filesystem::exists(dest_ / ".wh.gone"));
  EXPECT_FALSE(std::filesystem::exists(dest_ / ".wh..wh.plnk"));
  EXPECT_FALSE(std::filesystem::exists(dest_ / "opq/.wh..wh..opq"));
  EXPECT_EQ(Xattr(dest_ / "opq", "trusted.overlay.opaque"), "y");
  EXPECT_EQ(ReadAll(dest_ / "opq/kept"), "k");
}

TEST_F(UnpackTest, OpaqueDirectoryWithUserXattrPrefix) {
  UnpackOptions o;
  o.overlay_xattr_prefix = "user.overlay.";  // overlay -o userxattr, no privilege needed
  auto st = Unpack(TarBuilder().Dir("d").File("d/.wh..wh..opq", "").Finish(), o);
  ASSERT_OK(st);
  EXPECT_EQ(Xattr(dest_ / "d", "user.overlay.opaque"), "y");
}

TEST_F(UnpackTest, OverlayXattrsInTheLayerAreDropped) {
  auto st = Unpack(TarBuilder()
                       .File("f", "x", 0644, {{"user.overlay.redirect", "/etc"}, {"user.ok", "1"}})
                       .Finish());
  ASSERT_OK(st);
  EXPECT_GE(st->skipped_xattrs, 1);  // pax may carry it twice (SCHILY and LIBARCHIVE)
  EXPECT_EQ(Xattr(dest_ / "f", "user.ok"), "1");
  EXPECT_NE(Xattr(dest_ / "f", "user.overlay.redirect"), "/etc");
}

TEST_F(UnpackTest, DeviceNodes) {
  auto st = Unpack(TarBuilder().CharDev("dev/null", 1, 3).Finish());
  ASSERT_OK(st);
  struct stat s;
  if (berth::testing::IsRoot()) {
    ASSERT_EQ(::lstat((dest_ / "dev/null").c_str(), &s), 0);
    EXPECT_TRUE(S_ISCHR(s.st_mode));
    EXPECT_EQ(s.st_rdev, makedev(1, 3));
  } else {
    EXPECT_EQ(st->skipped_devices, 1);
  }
}

TEST_F(UnpackTest, EntryCountLimit) {
  UnpackOptions o;
  o.max_entries = 2;
  EXPECT_ERRNO(Unpack(TarBuilder().File("a", "").File("b", "").File("c", "").Finish(), o), EFBIG);
}

}  // namespace
}  // namespace berth::runtime::image
