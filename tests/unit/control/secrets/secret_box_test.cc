#include "berth/control/secret_box.h"

#include <fcntl.h>
#include <unistd.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "test_support.h"

#include "berth/common/file.h"

namespace berth::control {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kAad = "/registry/secrets/default/db";

std::string Key(char fill) { return std::string(SecretBox::kKeySize, fill); }

SecretBox Box(char fill) {
  auto box = SecretBox::FromKey(Key(fill));
  EXPECT_TRUE(box.ok()) << box.error().ToString();
  return std::move(box).value();
}

// Offsets into the sealed format, from the header's layout.
constexpr size_t kNonceAt = SecretBox::kPrefix.size() + SecretBox::kKeyIdSize;
constexpr size_t kCiphertextAt = kNonceAt + SecretBox::kNonceSize;

class SecretKeyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("berth-secret-box-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path Write(const std::string& name, std::string_view data, mode_t mode = 0600) {
    fs::path p = dir_ / name;
    {
      std::ofstream out(p, std::ios::binary);
      out.write(data.data(), static_cast<std::streamsize>(data.size()));
    }
    EXPECT_EQ(::chmod(p.c_str(), mode), 0);
    return p;
  }

  fs::path dir_;
};

TEST(SecretBoxTest, RoundTrip) {
  SecretBox box = Box('k');
  auto sealed = box.Seal("hunter2", kAad);
  ASSERT_OK(sealed);
  EXPECT_TRUE(SecretBox::IsSealed(*sealed));
  EXPECT_EQ(sealed->find("hunter2"), std::string::npos);
  EXPECT_EQ(sealed->size(), kCiphertextAt + 7 + SecretBox::kTagSize);
  auto opened = box.Open(*sealed, kAad);
  ASSERT_OK(opened);
  EXPECT_EQ(*opened, "hunter2");
}

TEST(SecretBoxTest, BinaryPlaintextRoundTrips) {
  SecretBox box = Box('k');
  std::string plain("\0\x01\xff binary\n", 11);
  auto sealed = box.Seal(plain, kAad);
  ASSERT_OK(sealed);
  auto opened = box.Open(*sealed, kAad);
  ASSERT_OK(opened);
  EXPECT_EQ(*opened, plain);
}

TEST(SecretBoxTest, EmptyPlaintextAndEmptyAad) {
  SecretBox box = Box('k');
  auto sealed = box.Seal("", "");
  ASSERT_OK(sealed);
  EXPECT_EQ(sealed->size(), kCiphertextAt + SecretBox::kTagSize);
  auto opened = box.Open(*sealed, "");
  ASSERT_OK(opened);
  EXPECT_EQ(*opened, "");
  // The tag still authenticates the empty value.
  EXPECT_ERRNO(box.Open(*sealed, kAad), EBADMSG);
}

TEST(SecretBoxTest, WrongAadFails) {
  SecretBox box = Box('k');
  auto sealed = box.Seal("hunter2", kAad);
  ASSERT_OK(sealed);
  EXPECT_ERRNO(box.Open(*sealed, "/registry/secrets/default/other"), EBADMSG);
  EXPECT_ERRNO(box.Open(*sealed, ""), EBADMSG);
}

TEST(SecretBoxTest, FlippedBitFailsAuthentication) {
  SecretBox box = Box('k');
  auto sealed = box.Seal("a secret value", kAad);
  ASSERT_OK(sealed);
  const size_t tag_at = sealed->size() - SecretBox::kTagSize;
  struct Case {
    const char* what;
    size_t offset;
  };
  for (Case c : {Case{"nonce first byte", kNonceAt}, Case{"nonce last byte", kCiphertextAt - 1},
                 Case{"ciphertext", kCiphertextAt}, Case{"ciphertext end", tag_at - 1},
                 Case{"tag", tag_at}, Case{"tag end", sealed->size() - 1}}) {
    SCOPED_TRACE(c.what);
    std::string tampered = *sealed;
    tampered[c.offset] = static_cast<char>(tampered[c.offset] ^ 0x01);
    EXPECT_ERRNO(box.Open(tampered, kAad), EBADMSG);
  }
}

TEST(SecretBoxTest, OtherKeyIsEacces) {
  auto sealed = Box('a').Seal("hunter2", kAad);
  ASSERT_OK(sealed);
  SecretBox other = Box('b');
  auto opened = other.Open(*sealed, kAad);
  EXPECT_ERRNO(opened, EACCES);
  EXPECT_NE(opened.error().ToString().find("another key"), std::string::npos);
  EXPECT_NE(opened.error().ToString().find(other.KeyIdHex()), std::string::npos);
  EXPECT_NE(Box('a').KeyIdHex(), other.KeyIdHex());
  EXPECT_EQ(Box('a').KeyIdHex().size(), 2 * SecretBox::kKeyIdSize);
}

TEST(SecretBoxTest, NonceDiffersBetweenSeals) {
  SecretBox box = Box('k');
  auto a = box.Seal("same", kAad);
  auto b = box.Seal("same", kAad);
  ASSERT_OK(a);
  ASSERT_OK(b);
  EXPECT_NE(a->substr(kNonceAt, SecretBox::kNonceSize), b->substr(kNonceAt, SecretBox::kNonceSize));
  EXPECT_NE(*a, *b);
}

TEST(SecretBoxTest, NotSealedOrTruncatedIsEinval) {
  SecretBox box = Box('k');
  EXPECT_FALSE(SecretBox::IsSealed("plain value"));
  EXPECT_ERRNO(box.Open("plain value", kAad), EINVAL);
  EXPECT_ERRNO(box.Open("", kAad), EINVAL);
  auto sealed = box.Seal("hunter2", kAad);
  ASSERT_OK(sealed);
  EXPECT_ERRNO(box.Open(std::string(SecretBox::kPrefix), kAad), EINVAL);
  // Shorter than header and tag: truncated before the key id is even read.
  EXPECT_ERRNO(box.Open(sealed->substr(0, kCiphertextAt + SecretBox::kTagSize - 1), kAad), EINVAL);
  // Long enough to parse but cut: the tag no longer matches.
  EXPECT_ERRNO(box.Open(sealed->substr(0, sealed->size() - 1), kAad), EBADMSG);
}

TEST(SecretBoxTest, FromKeyWantsThirtyTwoBytes) {
  EXPECT_ERRNO(SecretBox::FromKey(""), EINVAL);
  EXPECT_ERRNO(SecretBox::FromKey(std::string(31, 'k')), EINVAL);
  EXPECT_ERRNO(SecretBox::FromKey(std::string(33, 'k')), EINVAL);
}

TEST(SecretBoxTest, MovedFromBoxRefusesToSeal) {
  SecretBox a = Box('k');
  auto sealed = a.Seal("hunter2", kAad);
  ASSERT_OK(sealed);
  SecretBox b = std::move(a);
  auto opened = b.Open(*sealed, kAad);
  ASSERT_OK(opened);
  EXPECT_EQ(*opened, "hunter2");
  // NOLINTNEXTLINE(bugprone-use-after-move,clang-analyzer-cplusplus.Move): under test.
  EXPECT_ERRNO(a.Seal("x", kAad), EINVAL);
}

TEST_F(SecretKeyFileTest, RawKey) {
  fs::path p = Write("raw.key", Key('r'));
  auto box = SecretBox::FromKeyFile(p);
  ASSERT_OK(box);
  auto sealed = Box('r').Seal("v", kAad);
  ASSERT_OK(sealed);
  EXPECT_OK(box->Open(*sealed, kAad));
}

TEST_F(SecretKeyFileTest, Base64Key) {
  // base64 of 32 bytes of 'r' (0x72).
  const std::string b64 = "cnJycnJycnJycnJycnJycnJycnJycnJycnJycnJycnI=";
  auto sealed = Box('r').Seal("v", kAad);
  ASSERT_OK(sealed);
  for (const std::string& text : {b64, b64 + "\n", b64 + "\r\n"}) {
    auto box = SecretBox::FromKeyFile(Write("b64.key", text));
    ASSERT_OK(box);
    EXPECT_OK(box->Open(*sealed, kAad));
  }
}

TEST_F(SecretKeyFileTest, WrongSizeIsEinval) {
  for (const std::string& text :
       {std::string(), std::string(31, 'k'), std::string(33, 'k'), Key('k') + "\n",
        std::string("aGVsbG8=\n"),  // base64 of 5 bytes
        std::string(44, '!'), std::string(4096, 'k')}) {
    SCOPED_TRACE(text.size());
    auto box = SecretBox::FromKeyFile(Write("bad.key", text));
    EXPECT_ERRNO(box, EINVAL);
    EXPECT_NE(box.error().ToString().find("want 32 bytes (or their base64), got " +
                                          std::to_string(text.size())),
              std::string::npos)
        << box.error().ToString();
  }
}

TEST_F(SecretKeyFileTest, GroupOrOtherAccessIsRefused) {
  for (mode_t mode : {0644, 0640, 0604, 0660, 0602}) {
    SCOPED_TRACE(mode);
    fs::path p = Write("open.key", Key('k'), mode);
    auto box = SecretBox::FromKeyFile(p);
    EXPECT_ERRNO(box, EPERM);
    EXPECT_NE(box.error().ToString().find(p.string()), std::string::npos);
  }
  auto box = SecretBox::FromKeyFile(Write("open.key", Key('k'), 0644));
  EXPECT_NE(box.error().ToString().find("mode 0644"), std::string::npos) << box.error().ToString();
  EXPECT_OK(SecretBox::FromKeyFile(Write("owner.key", Key('k'), 0400)));
}

TEST_F(SecretKeyFileTest, MissingFileIsEnoent) {
  fs::path p = dir_ / "missing.key";
  auto box = SecretBox::FromKeyFile(p);
  EXPECT_ERRNO(box, ENOENT);
  EXPECT_NE(box.error().ToString().find(p.string()), std::string::npos);
}

TEST_F(SecretKeyFileTest, DirectoryIsNotAKeyFile) {
  fs::path p = dir_ / "sub";
  fs::create_directory(p);
  ASSERT_EQ(::chmod(p.c_str(), 0700), 0);
  EXPECT_ERRNO(SecretBox::FromKeyFile(p), EINVAL);
}

TEST_F(SecretKeyFileTest, GenerateKeyFile) {
  fs::path p = dir_ / "generated.key";
  ASSERT_OK(SecretBox::GenerateKeyFile(p));
  struct stat st {};
  ASSERT_EQ(::stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  auto text = ReadFile(p);
  ASSERT_OK(text);
  EXPECT_EQ(text->size(), 45u);  // base64 of 32 bytes and a newline
  EXPECT_EQ(text->back(), '\n');

  auto box = SecretBox::FromKeyFile(p);
  ASSERT_OK(box);
  auto sealed = box->Seal("hunter2", kAad);
  ASSERT_OK(sealed);
  auto opened = box->Open(*sealed, kAad);
  ASSERT_OK(opened);
  EXPECT_EQ(*opened, "hunter2");

  // Two generated keys differ.
  fs::path q = dir_ / "second.key";
  ASSERT_OK(SecretBox::GenerateKeyFile(q));
  auto other = SecretBox::FromKeyFile(q);
  ASSERT_OK(other);
  EXPECT_NE(other->KeyIdHex(), box->KeyIdHex());
}

TEST_F(SecretKeyFileTest, GenerateKeyFileNeverOverwrites) {
  fs::path p = dir_ / "generated.key";
  ASSERT_OK(SecretBox::GenerateKeyFile(p));
  auto before = ReadFile(p);
  ASSERT_OK(before);
  EXPECT_ERRNO(SecretBox::GenerateKeyFile(p), EEXIST);
  auto after = ReadFile(p);
  ASSERT_OK(after);
  EXPECT_EQ(*before, *after);
}

TEST_F(SecretKeyFileTest, GenerateKeyFileIgnoresUmask) {
  fs::path p = dir_ / "umask.key";
  mode_t old = ::umask(0477);
  Status st = SecretBox::GenerateKeyFile(p);
  ::umask(old);
  ASSERT_OK(st);
  EXPECT_OK(SecretBox::FromKeyFile(p));
}

}  // namespace
}  // namespace berth::control
