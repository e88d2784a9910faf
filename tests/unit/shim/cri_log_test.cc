// CriLogWriter: the exact CRI record format, line buffering per stream, P
// chunks for long lines, the P record at end of stream, and size rotation
// that loses no record.
#include "berth/runtime/shim/cri_log.h"

#include <stdlib.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_support.h"

namespace berth::runtime::shim {
namespace {

namespace fs = std::filesystem;

// 2026-11-23T06:00:00.123456789Z
constexpr int64_t kT0 = 1795413600123456789;
constexpr const char* kT0Text = "2026-11-23T06:00:00.123456789Z";
constexpr int64_t kSecond = 1'000'000'000;

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> SplitLines(const std::string& s) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t nl = s.find('\n', pos);
    EXPECT_NE(nl, std::string::npos) << "record without newline: " << s.substr(pos);
    if (nl == std::string::npos) break;
    out.push_back(s.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return out;
}

class CriLogWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string t = (fs::temp_directory_path() / "berth-cri-log-XXXXXX").string();
    ASSERT_NE(::mkdtemp(t.data()), nullptr);
    dir_ = t;
    path_ = dir_ / "0.log";
  }
  void TearDown() override { fs::remove_all(dir_); }

  CriLogWriter Open(CriLogOptions o = {}) {
    o.path = path_.string();
    auto w = CriLogWriter::Open(std::move(o));
    EXPECT_TRUE(w.ok()) << w.error().ToString();
    return std::move(w).value();
  }
  std::string Contents() { return ReadFile(path_); }

  fs::path dir_;
  fs::path path_;
};

TEST(FormatRfc3339Nano, NineDigitsUtc) {
  EXPECT_EQ(FormatRfc3339Nano(kT0), kT0Text);
  EXPECT_EQ(FormatRfc3339Nano(0), "1970-01-01T00:00:00.000000000Z");
  EXPECT_EQ(FormatRfc3339Nano(1709251199 * kSecond + 5), "2024-02-29T23:59:59.000000005Z");
  // Before the epoch the fraction still counts up from the whole second.
  EXPECT_EQ(FormatRfc3339Nano(-1), "1969-12-31T23:59:59.999999999Z");
}

TEST(RealtimeNanos, IsNow) {
  const int64_t a = RealtimeNanos();
  const int64_t b = static_cast<int64_t>(::time(nullptr)) * kSecond;
  EXPECT_LT(std::llabs(a - b), 2 * kSecond);
}

TEST_F(CriLogWriterTest, CompleteLinesAreFRecords) {
  CriLogWriter w = Open();
  ASSERT_OK(w.Write(LogStream::kStdout, "hello world\n\nlast  one \n", kT0));
  EXPECT_EQ(Contents(), std::string(kT0Text) + " stdout F hello world\n" + kT0Text +
                            " stdout F \n" + kT0Text + " stdout F last  one \n");
  EXPECT_EQ(w.size(), Contents().size());
}

TEST_F(CriLogWriterTest, CarriageReturnAndOtherBytesAreKept) {
  CriLogWriter w = Open();
  ASSERT_OK(w.Write(LogStream::kStderr, std::string("a\r\n\tb\0c\n", 8), kT0));
  EXPECT_EQ(Contents(), std::string(kT0Text) + " stderr F a\r\n" + kT0Text + " stderr F \tb" +
                            std::string(1, '\0') + "c\n");
}

TEST_F(CriLogWriterTest, UnterminatedBytesWaitForTheirNewline) {
  CriLogWriter w = Open();
  ASSERT_OK(w.Write(LogStream::kStdout, "hel", kT0));
  EXPECT_EQ(Contents(), "");
  ASSERT_OK(w.Write(LogStream::kStdout, "lo", kT0));
  EXPECT_EQ(Contents(), "");
  // The record is stamped when its newline arrives.
  ASSERT_OK(w.Write(LogStream::kStdout, "\nwor", kT0 + kSecond));
  EXPECT_EQ(Contents(), "2026-11-23T06:00:01.123456789Z stdout F hello\n");
  ASSERT_OK(w.Write(LogStream::kStdout, "ld\n", kT0 + 2 * kSecond));
  EXPECT_EQ(Contents(),
            "2026-11-23T06:00:01.123456789Z stdout F hello\n"
            "2026-11-23T06:00:02.123456789Z stdout F world\n");
}

TEST_F(CriLogWriterTest, StreamsAreBufferedSeparately) {
  CriLogWriter w = Open();
  ASSERT_OK(w.Write(LogStream::kStdout, "out-", kT0));
  ASSERT_OK(w.Write(LogStream::kStderr, "err-", kT0));
  ASSERT_OK(w.Write(LogStream::kStderr, "1\nerr-2\n", kT0));
  ASSERT_OK(w.Write(LogStream::kStdout, "1\n", kT0));
  ASSERT_OK(w.Write(LogStream::kStderr, "err-3\n", kT0));
  const std::string t = kT0Text;
  EXPECT_EQ(Contents(), t + " stderr F err-1\n" + t + " stderr F err-2\n" + t +
                            " stdout F out-1\n" + t + " stderr F err-3\n");
}

TEST_F(CriLogWriterTest, LongLinesBecomePartialChunks) {
  CriLogWriter w = Open({.max_line = 4});
  const std::string t = kT0Text;
  ASSERT_OK(w.Write(LogStream::kStdout, "abcdefghij\n", kT0));
  EXPECT_EQ(Contents(), t + " stdout P abcd\n" + t + " stdout P efgh\n" + t + " stdout F ij\n");
}

TEST_F(CriLogWriterTest, LineOfExactlyMaxLineIsOneRecord) {
  CriLogWriter w = Open({.max_line = 4});
  const std::string t = kT0Text;
  ASSERT_OK(w.Write(LogStream::kStdout, "abcd\nefghijkl\n", kT0));
  // No empty F record after a line that fills its last chunk exactly.
  EXPECT_EQ(Contents(), t + " stdout F abcd\n" + t + " stdout P efgh\n" + t + " stdout F ijkl\n");
}

TEST_F(CriLogWriterTest, UnterminatedLongLineIsCutAsItArrives) {
  CriLogWriter w = Open({.max_line = 4});
  const std::string t = kT0Text;
  ASSERT_OK(w.Write(LogStream::kStdout, "abcd", kT0));
  EXPECT_EQ(Contents(), "") << "exactly max_line may still end in a newline";
  ASSERT_OK(w.Write(LogStream::kStdout, "efghij", kT0));
  EXPECT_EQ(Contents(), t + " stdout P abcd\n" + t + " stdout P efgh\n");
  ASSERT_OK(w.Write(LogStream::kStdout, "k\n", kT0));
  EXPECT_EQ(Contents(), t + " stdout P abcd\n" + t + " stdout P efgh\n" + t + " stdout F ijk\n");
}

TEST_F(CriLogWriterTest, FlushWritesTheRemainderAsPartial) {
  CriLogWriter w = Open();
  const std::string t = kT0Text;
  ASSERT_OK(w.Write(LogStream::kStdout, "done\nno newline", kT0));
  ASSERT_OK(w.Write(LogStream::kStderr, "err", kT0));
  ASSERT_OK(w.Flush(LogStream::kStdout, kT0));
  EXPECT_EQ(Contents(), t + " stdout F done\n" + t + " stdout P no newline\n");
  // Nothing left: a second flush, or one of an empty stream, writes nothing.
  ASSERT_OK(w.Flush(LogStream::kStdout, kT0));
  ASSERT_OK(w.Flush(LogStream::kStderr, kT0));
  EXPECT_EQ(Contents(),
            t + " stdout F done\n" + t + " stdout P no newline\n" + t + " stderr P err\n");
  ASSERT_OK(w.Flush(LogStream::kStderr, kT0));
  EXPECT_EQ(SplitLines(Contents()).size(), 3u);
}

TEST_F(CriLogWriterTest, OpenCreatesWithMode0640AndAppends) {
  const mode_t old = ::umask(022);
  {
    CriLogWriter w = Open();
    ASSERT_OK(w.Write(LogStream::kStdout, "one\n", kT0));
  }
  ::umask(old);
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  CriLogWriter w = Open();
  EXPECT_EQ(w.size(), Contents().size()) << "an existing file's bytes count toward rotation";
  ASSERT_OK(w.Write(LogStream::kStdout, "two\n", kT0));
  EXPECT_EQ(SplitLines(Contents()).size(), 2u);
}

TEST_F(CriLogWriterTest, OpenErrorsNameThePath) {
  const std::string missing = (dir_ / "no-such-dir" / "0.log").string();
  auto w = CriLogWriter::Open({.path = missing});
  EXPECT_ERRNO(w, ENOENT);
  EXPECT_NE(w.error().ToString().find(missing), std::string::npos) << w.error().ToString();

  EXPECT_ERRNO(CriLogWriter::Open({.path = ""}), EINVAL);
  EXPECT_ERRNO(CriLogWriter::Open({.path = path_.string(), .max_files = 0}), EINVAL);
  EXPECT_ERRNO(CriLogWriter::Open({.path = path_.string(), .max_line = 0}), EINVAL);
  EXPECT_ERRNO(CriLogWriter::Open({.path = path_.string(), .max_bytes = 0}), EINVAL);
}

// Every record below is 40 bytes of header + "line-NN" + newline = 48 bytes.
constexpr size_t kRecordSize = 48;

std::string LineN(int i) { return (i < 10 ? "line-0" : "line-") + std::to_string(i); }

// path.(n-1), ..., path.1, path: oldest first.
std::vector<std::string> RecordsOldestFirst(const fs::path& path, int max_index) {
  std::vector<std::string> all;
  for (int i = max_index; i >= 0; --i) {
    fs::path p = path;
    if (i > 0) p += "." + std::to_string(i);
    if (!fs::exists(p)) continue;
    for (std::string& l : SplitLines(ReadFile(p))) all.push_back(std::move(l));
  }
  return all;
}

TEST_F(CriLogWriterTest, RotationLosesNoRecord) {
  // Two records fit in 100 bytes; a third would exceed it.
  CriLogWriter w = Open({.max_bytes = 100, .max_files = 100});
  for (int i = 0; i < 10; ++i) {
    ASSERT_OK(w.Write(LogStream::kStdout, LineN(i) + "\n", kT0 + i));
  }
  ASSERT_EQ(kRecordSize, std::string(kT0Text).size() + 10 + 8);
  // 10 records, 2 per file: 0.log and 0.log.1 ... 0.log.4.
  for (int i = 1; i <= 4; ++i) {
    fs::path p = path_;
    p += "." + std::to_string(i);
    ASSERT_TRUE(fs::exists(p)) << p;
    EXPECT_EQ(fs::file_size(p), 2 * kRecordSize) << p;
  }
  EXPECT_FALSE(fs::exists(path_.string() + ".5"));
  EXPECT_EQ(fs::file_size(path_), 2 * kRecordSize);
  EXPECT_EQ(w.size(), 2 * kRecordSize);

  std::vector<std::string> all = RecordsOldestFirst(path_, 10);
  ASSERT_EQ(all.size(), 10u);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(all[i], FormatRfc3339Nano(kT0 + i) + " stdout F " + LineN(i));
  }
}

TEST_F(CriLogWriterTest, RotationKeepsMaxFilesAndDropsTheOldest) {
  CriLogWriter w = Open({.max_bytes = 100, .max_files = 3});
  for (int i = 0; i < 11; ++i) {
    ASSERT_OK(w.Write(LogStream::kStdout, LineN(i) + "\n", kT0 + i));
  }
  // 11 records make 6 files' worth; the 3 newest hold records 6..10.
  EXPECT_TRUE(fs::exists(path_.string() + ".1"));
  EXPECT_TRUE(fs::exists(path_.string() + ".2"));
  EXPECT_FALSE(fs::exists(path_.string() + ".3"));
  std::vector<std::string> all = RecordsOldestFirst(path_, 5);
  ASSERT_EQ(all.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(all[i], FormatRfc3339Nano(kT0 + 6 + i) + " stdout F " + LineN(6 + i));
  }
}

TEST_F(CriLogWriterTest, SplitLineSurvivesRotationBetweenItsChunks) {
  CriLogWriter w = Open({.max_bytes = 100, .max_files = 10, .max_line = 7});
  // "line-00" fits one record; "abcdefghijklmn" is P "abcdefg" + F "hijklmn".
  ASSERT_OK(w.Write(LogStream::kStdout, LineN(0) + "\n", kT0));
  ASSERT_OK(w.Write(LogStream::kStdout, "abcdefghijklmn\n", kT0));
  const std::string t = kT0Text;
  EXPECT_EQ(ReadFile(path_.string() + ".1"), t + " stdout F line-00\n" + t + " stdout P abcdefg\n");
  EXPECT_EQ(Contents(), t + " stdout F hijklmn\n");
}

TEST_F(CriLogWriterTest, RecordLargerThanMaxBytesGetsAFileOfItsOwn) {
  CriLogWriter w = Open({.max_bytes = 60, .max_files = 5});
  const std::string big(50, 'x');  // a 91-byte record
  ASSERT_OK(w.Write(LogStream::kStdout, "a\n", kT0));
  ASSERT_OK(w.Write(LogStream::kStdout, big + "\n", kT0));
  ASSERT_OK(w.Write(LogStream::kStdout, "b\n", kT0));
  const std::string t = kT0Text;
  EXPECT_EQ(ReadFile(path_.string() + ".2"), t + " stdout F a\n");
  EXPECT_EQ(ReadFile(path_.string() + ".1"), t + " stdout F " + big + "\n");
  EXPECT_EQ(Contents(), t + " stdout F b\n");
}

TEST_F(CriLogWriterTest, SingleFileRotationStartsOver) {
  CriLogWriter w = Open({.max_bytes = 100, .max_files = 1});
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK(w.Write(LogStream::kStdout, LineN(i) + "\n", kT0));
  }
  EXPECT_FALSE(fs::exists(path_.string() + ".1"));
  EXPECT_EQ(Contents(), std::string(kT0Text) + " stdout F line-02\n");
}

TEST_F(CriLogWriterTest, WriterIsMovable) {
  CriLogWriter a = Open();
  ASSERT_OK(a.Write(LogStream::kStdout, "par", kT0));
  CriLogWriter b = std::move(a);
  ASSERT_OK(b.Write(LogStream::kStdout, "tial\n", kT0));
  EXPECT_EQ(Contents(), std::string(kT0Text) + " stdout F partial\n");
}

}  // namespace
}  // namespace berth::runtime::shim
