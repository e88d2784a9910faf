// Reading what CriLogWriter writes: strict record parsing, tail/since and
// P-chunk joining over rotated files, and following a log across rotation.
#include "cri_reader.h"

#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "test_support.h"

#include "berth/common/log.h"
#include "berth/runtime/shim/cri_log.h"

namespace berth::nodeagent {
namespace {

namespace fs = std::filesystem;
using runtime::shim::CriLogOptions;
using runtime::shim::CriLogWriter;
using runtime::shim::FormatRfc3339Nano;
using runtime::shim::LogStream;

// 2026-11-23T06:00:00.123456789Z
constexpr int64_t kT0 = 1795413600123456789;
constexpr int64_t kSecond = 1'000'000'000;
constexpr LogStream kOut = LogStream::kStdout;
constexpr LogStream kErr = LogStream::kStderr;

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void AppendFile(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary | std::ios::app) << text;
}

std::vector<std::string> Contents(const std::vector<LogLine>& lines) {
  std::vector<std::string> out;
  out.reserve(lines.size());
  for (const LogLine& l : lines) out.push_back(l.content);
  return out;
}

// ---- ParseCriLine ----

TEST(ParseCriLine, FullRecord) {
  auto l = ParseCriLine("2026-11-23T06:00:00.123456789Z stdout F hello  world ");
  ASSERT_OK(l);
  EXPECT_EQ(l->time_ns, kT0);
  EXPECT_EQ(l->stream, kOut);
  EXPECT_FALSE(l->partial);
  EXPECT_EQ(l->content, "hello  world ");
}

TEST(ParseCriLine, PartialStderrWithNewlineAndEmptyContent) {
  auto l = ParseCriLine("2026-11-23T06:00:00.123456789Z stderr P \n");
  ASSERT_OK(l);
  EXPECT_EQ(l->stream, kErr);
  EXPECT_TRUE(l->partial);
  EXPECT_EQ(l->content, "");
}

TEST(ParseCriLine, ContainerdTimestampsWithOffsetsAndShortFractions) {
  // Go's RFC3339Nano trims trailing zeros and containerd writes local time.
  auto a = ParseCriLine("2026-11-23T07:00:00.5+01:00 stdout F x");
  ASSERT_OK(a);
  EXPECT_EQ(a->time_ns, kT0 - 123456789 + 500000000);
  auto b = ParseCriLine("2026-11-22T23:30:00-06:30 stdout F x");
  ASSERT_OK(b);
  EXPECT_EQ(b->time_ns, kT0 - 123456789);
}

TEST(ParseCriLine, RoundTripsTheWriterFormat) {
  for (int64_t t : {kT0, int64_t{0}, int64_t{-1}, int64_t{1709251199} * kSecond + 7}) {
    auto l = ParseCriLine(FormatRfc3339Nano(t) + " stdout F x");
    ASSERT_OK(l);
    EXPECT_EQ(l->time_ns, t) << FormatRfc3339Nano(t);
  }
}

TEST(ParseCriLine, ErrorsSayWhatIsWrong) {
  struct Case {
    std::string line;
    std::string want;
  };
  const std::string t = "2026-11-23T06:00:00.123456789Z";
  const std::vector<Case> cases = {
      {"", "no space after the timestamp"},
      {"garbage", "no space after the timestamp"},
      {"yesterday stdout F x", "not RFC 3339"},
      {"2026-13-01T00:00:00Z stdout F x", "month out of range"},
      {"2026-02-29T00:00:00Z stdout F x", "day out of range"},
      {"2026-11-23T24:00:00Z stdout F x", "time of day out of range"},
      {"2026-11-23T06:00:00.1234567890Z stdout F x", "more than 9 fractional digits"},
      {"2026-11-23T06:00:00.Z stdout F x", "no digits after '.'"},
      {"2026-11-23T06:00:00 stdout F x", "no UTC offset"},
      {"2026-11-23T06:00:00+0100 stdout F x", "bad UTC offset"},
      {"2026-11-23T06:00:00Zjunk stdout F x", "trailing characters"},
      {"3000-01-01T00:00:00Z stdout F x", "outside the range"},
      {t, "no space after the timestamp"},
      {t + " stdout", "no space after the stream"},
      {t + " stdin F x", "stream \"stdin\" is neither stdout nor stderr"},
      {t + " stdout F", "no space after the tag"},
      {t + " stdout X x", "tag \"X\" is neither P nor F"},
      {t + " stdout F:x x", "tag \"F:x\" is neither P nor F"},
      {t + " stdout F a\nb", "newline inside the content"},
  };
  for (const Case& c : cases) {
    auto r = ParseCriLine(c.line);
    EXPECT_ERRNO(r, EINVAL);
    EXPECT_NE(r.error().ToString().find(c.want), std::string::npos)
        << "line: " << c.line << "\nerror: " << r.error().ToString();
  }
}

// ---- ReadLogs and LogFollower over files the writer made ----

class CriReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string t = (fs::temp_directory_path() / "berth-cri-reader-XXXXXX").string();
    ASSERT_NE(::mkdtemp(t.data()), nullptr);
    dir_ = t;
    path_ = dir_ / "0.log";
  }
  void TearDown() override { fs::remove_all(dir_); }

  CriLogWriter Writer(CriLogOptions o = {}) {
    o.path = path_.string();
    auto w = CriLogWriter::Open(std::move(o));
    EXPECT_TRUE(w.ok()) << w.error().ToString();
    return std::move(w).value();
  }
  fs::path Rotated(int i) const { return path_.string() + "." + std::to_string(i); }

  fs::path dir_;
  fs::path path_;
};

// Ten lines "line-0".."line-9" at kT0 + i seconds; the long ones are split
// into P chunks (max_line 8) and the files rotate every 100 bytes, so chunks
// of one line land in different files.
void WriteTenLines(CriLogWriter& w) {
  for (int i = 0; i < 10; ++i) {
    std::string line = "line-" + std::to_string(i);
    if (i % 3 == 0) line += "-" + std::string(10, static_cast<char>('a' + i));
    ASSERT_OK(w.Write(i % 2 == 0 ? kOut : kErr, line + "\n", kT0 + i * kSecond));
  }
}

std::vector<std::string> TenLines() {
  std::vector<std::string> v;
  for (int i = 0; i < 10; ++i) {
    std::string line = "line-" + std::to_string(i);
    if (i % 3 == 0) line += "-" + std::string(10, static_cast<char>('a' + i));
    v.push_back(line);
  }
  return v;
}

TEST_F(CriReaderTest, ReadsRotatedFilesOldestFirstAndJoinsChunks) {
  {
    CriLogWriter w = Writer({.max_bytes = 100, .max_files = 20, .max_line = 8});
    WriteTenLines(w);
  }
  ASSERT_TRUE(fs::exists(Rotated(3))) << "the test needs several rotated files";
  // Some line's chunks were split across a rotation.
  bool split_across_files = false;
  for (int i = 1; i < 20 && fs::exists(Rotated(i)); ++i) {
    std::string s = ReadFile(Rotated(i));
    if (s.find(" P ", s.rfind('\n', s.size() - 2)) != std::string::npos) split_across_files = true;
  }
  EXPECT_TRUE(split_across_files);

  auto lines = ReadLogs(path_, {}, 20);
  ASSERT_OK(lines);
  EXPECT_EQ(Contents(*lines), TenLines());
  for (int i = 0; i < 10; ++i) {
    const LogLine& l = (*lines)[i];
    EXPECT_EQ(l.time_ns, kT0 + i * kSecond);
    EXPECT_EQ(l.stream, i % 2 == 0 ? kOut : kErr);
    EXPECT_FALSE(l.partial);
  }
}

TEST_F(CriReaderTest, MaxFilesBoundsWhatIsRead) {
  {
    CriLogWriter w = Writer({.max_bytes = 100, .max_files = 20, .max_line = 8});
    WriteTenLines(w);
  }
  auto all = ReadLogs(path_, {}, 20);
  auto current = ReadLogs(path_, {}, 1);
  ASSERT_OK(all);
  ASSERT_OK(current);
  ASSERT_LT(current->size(), all->size());
  // The current file may start with the last chunks of a line whose first
  // chunk was rotated away: without it they read as a line of their own.
  const std::string& whole = all->back().content;
  const std::string& tail = current->back().content;
  ASSERT_LE(tail.size(), whole.size());
  EXPECT_EQ(whole.substr(whole.size() - tail.size()), tail);
}

TEST_F(CriReaderTest, TailAndSince) {
  {
    CriLogWriter w = Writer({.max_bytes = 100, .max_files = 20, .max_line = 8});
    WriteTenLines(w);
  }
  const std::vector<std::string> ten = TenLines();
  auto tail = ReadLogs(path_, {.tail_lines = 3}, 20);
  ASSERT_OK(tail);
  EXPECT_EQ(Contents(*tail), std::vector<std::string>(ten.begin() + 7, ten.end()));

  auto since = ReadLogs(path_, {.since_ns = kT0 + 6 * kSecond}, 20);
  ASSERT_OK(since);
  EXPECT_EQ(Contents(*since), std::vector<std::string>(ten.begin() + 6, ten.end()));

  // Since first, then tail of what is left.
  auto both = ReadLogs(path_, {.tail_lines = 2, .since_ns = kT0 + 3 * kSecond}, 20);
  ASSERT_OK(both);
  EXPECT_EQ(Contents(*both), std::vector<std::string>(ten.begin() + 8, ten.end()));
  auto few = ReadLogs(path_, {.tail_lines = 100, .since_ns = kT0 + 8 * kSecond}, 20);
  ASSERT_OK(few);
  EXPECT_EQ(few->size(), 2u);

  auto none = ReadLogs(path_, {.tail_lines = 0}, 20);
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
  EXPECT_ERRNO(ReadLogs(path_, {.tail_lines = -1}), EINVAL);
}

TEST_F(CriReaderTest, ChunksJoinPerStreamAtTheFirstChunk) {
  {
    CriLogWriter w = Writer({.max_line = 3});
    ASSERT_OK(w.Write(kOut, "abcd", kT0));  // P "abc" now, "d" buffered
    ASSERT_OK(w.Write(kErr, "err\n", kT0 + kSecond));
    ASSERT_OK(w.Write(kOut, "ef\n", kT0 + 2 * kSecond));  // F "def"
    ASSERT_OK(w.Write(kErr, "never ends", kT0 + 3 * kSecond));
    ASSERT_OK(w.Flush(kErr, kT0 + 4 * kSecond));
  }
  auto lines = ReadLogs(path_, {});
  ASSERT_OK(lines);
  ASSERT_EQ(lines->size(), 3u);
  EXPECT_EQ((*lines)[0].content, "abcdef");
  EXPECT_EQ((*lines)[0].stream, kOut);
  EXPECT_EQ((*lines)[0].time_ns, kT0);
  EXPECT_FALSE((*lines)[0].partial);
  EXPECT_EQ((*lines)[1].content, "err");
  EXPECT_EQ((*lines)[1].stream, kErr);
  // The stream ended without a newline: joined, but still partial.
  EXPECT_EQ((*lines)[2].content, "never ends");
  EXPECT_TRUE((*lines)[2].partial);
}

TEST_F(CriReaderTest, MissingFiles) {
  auto r = ReadLogs(path_, {});
  EXPECT_ERRNO(r, ENOENT);
  EXPECT_NE(r.error().ToString().find(path_.string()), std::string::npos) << r.error().ToString();

  // Rotated files that do not exist (yet) are fine.
  {
    CriLogWriter w = Writer();
    ASSERT_OK(w.Write(kOut, "only\n", kT0));
  }
  auto lines = ReadLogs(path_, {}, 5);
  ASSERT_OK(lines);
  EXPECT_EQ(Contents(*lines), std::vector<std::string>{"only"});
}

TEST_F(CriReaderTest, MalformedRecordsAreSkippedAndReported) {
  const std::string t = FormatRfc3339Nano(kT0);
  AppendFile(Rotated(1),
             t + " stdout F one\nnot a record\n" + t + " stdout F two\n" + t + " stdout F cut sh");
  AppendFile(path_, t + " stdout F three\n" + t + " stdin F bad\n" + t + " stdout F four\n");
  const fs::path log_path = dir_ / "agent.log";
  ASSERT_OK(log::Init({.path = log_path.string()}));
  auto lines = ReadLogs(path_, {});
  ASSERT_OK(log::Init({}));
  ASSERT_OK(lines);
  EXPECT_EQ(Contents(*lines), (std::vector<std::string>{"one", "two", "three", "four"}));

  const std::string logged = ReadFile(log_path);
  // One warning per file with the count and the first problem.
  EXPECT_NE(logged.find("path=" + Rotated(1).string() + " count=2"), std::string::npos) << logged;
  EXPECT_NE(logged.find("timestamp \\\"not\\\": not RFC 3339"), std::string::npos) << logged;
  EXPECT_NE(logged.find("path=" + path_.string() + " count=1"), std::string::npos) << logged;
  EXPECT_NE(logged.find("stdin"), std::string::npos) << logged;
}

TEST_F(CriReaderTest, IncompleteLastRecordOfTheCurrentFileIsLeftForLater) {
  const std::string t = FormatRfc3339Nano(kT0);
  AppendFile(path_, t + " stdout F done\n" + t + " stdout F being writ");
  auto lines = ReadLogs(path_, {});
  ASSERT_OK(lines);
  EXPECT_EQ(Contents(*lines), std::vector<std::string>{"done"});
}

TEST_F(CriReaderTest, FollowerStartsAtTheEndAndPicksUpAppends) {
  CriLogWriter w = Writer();
  ASSERT_OK(w.Write(kOut, "before\n", kT0));
  auto f = LogFollower::Open(path_);
  ASSERT_OK(f);
  auto none = f->Poll(0);
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());

  ASSERT_OK(w.Write(kOut, "after-1\n", kT0 + 1));
  ASSERT_OK(w.Write(kErr, "after-2\n", kT0 + 2));
  auto got = f->Poll(1000);
  ASSERT_OK(got);
  EXPECT_EQ(Contents(*got), (std::vector<std::string>{"after-1", "after-2"}));
  EXPECT_EQ((*got)[1].stream, kErr);
  EXPECT_EQ((*got)[1].time_ns, kT0 + 2);

  // Records, not joined lines: a chunk shows up before its line ends.
  CriLogWriter small = Writer({.max_line = 4});
  ASSERT_OK(small.Write(kOut, "abcdef", kT0));
  got = f->Poll(1000);
  ASSERT_OK(got);
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].content, "abcd");
  EXPECT_TRUE((*got)[0].partial);

  EXPECT_ERRNO(LogFollower::Open(dir_ / "missing.log"), ENOENT);
}

TEST_F(CriReaderTest, FollowerWaitsForARecord) {
  CriLogWriter w = Writer();
  auto f = LogFollower::Open(path_);
  ASSERT_OK(f);
  const auto start = std::chrono::steady_clock::now();
  auto empty = f->Poll(100);
  ASSERT_OK(empty);
  EXPECT_TRUE(empty->empty());
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(90));

  std::thread writer([&w] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_OK(w.Write(kOut, "late\n", kT0));
  });
  auto got = f->Poll(10000);
  writer.join();
  ASSERT_OK(got);
  EXPECT_EQ(Contents(*got), std::vector<std::string>{"late"});
}

TEST_F(CriReaderTest, FollowerCrossesARotationWithoutLossOrRepeat) {
  // Two records per file.
  CriLogWriter w = Writer({.max_bytes = 100, .max_files = 5});
  ASSERT_OK(w.Write(kOut, "r-00\n", kT0));
  auto f = LogFollower::Open(path_);
  ASSERT_OK(f);
  ASSERT_OK(w.Write(kOut, "r-01\n", kT0));
  auto got = f->Poll(1000);
  ASSERT_OK(got);
  EXPECT_EQ(Contents(*got), std::vector<std::string>{"r-01"});

  // Between polls: the file fills, rotates, and the new one gets records.
  ASSERT_OK(w.Write(kOut, "r-02\nr-03\n", kT0));
  ASSERT_TRUE(fs::exists(Rotated(1)));
  std::vector<std::string> seen;
  for (int i = 0; i < 10 && seen.size() < 2; ++i) {
    got = f->Poll(1000);
    ASSERT_OK(got);
    for (std::string& s : Contents(*got)) seen.push_back(std::move(s));
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"r-02", "r-03"}));
  got = f->Poll(0);
  ASSERT_OK(got);
  EXPECT_TRUE(got->empty());

  ASSERT_OK(w.Write(kOut, "r-04\n", kT0));
  got = f->Poll(1000);
  ASSERT_OK(got);
  EXPECT_EQ(Contents(*got), std::vector<std::string>{"r-04"});
}

TEST_F(CriReaderTest, FollowerCrossesSeveralRotationsBetweenPolls) {
  CriLogWriter w = Writer({.max_bytes = 100, .max_files = 5});
  auto f = LogFollower::Open(path_);
  ASSERT_OK(f);
  ASSERT_OK(w.Write(kOut, "r-00\n", kT0));
  auto got = f->Poll(1000);
  ASSERT_OK(got);
  EXPECT_EQ(Contents(*got), std::vector<std::string>{"r-00"});

  // Three rotations: the followed file ends up as path.3.
  std::vector<std::string> want;
  for (int i = 1; i <= 7; ++i) {
    std::string line = "r-0" + std::to_string(i);
    want.push_back(line);
    ASSERT_OK(w.Write(kOut, line + "\n", kT0));
  }
  ASSERT_TRUE(fs::exists(Rotated(3)));
  std::vector<std::string> seen;
  for (int i = 0; i < 10 && seen.size() < want.size(); ++i) {
    got = f->Poll(1000);
    ASSERT_OK(got);
    for (std::string& s : Contents(*got)) seen.push_back(std::move(s));
  }
  EXPECT_EQ(seen, want);
}

TEST_F(CriReaderTest, FollowerSeesEveryRecordOfAConcurrentRotatingWriter) {
  constexpr int kRecords = 2000;
  // ~20 rotations; a follower behind by more than max_files-1 of them would
  // lose records by design, so the chain is long enough for a slow machine.
  CriLogWriter w = Writer({.max_bytes = 4096, .max_files = 20});
  auto f = LogFollower::Open(path_);
  ASSERT_OK(f);
  std::thread writer([&w] {
    for (int i = 0; i < kRecords; ++i) {
      EXPECT_OK(w.Write(kOut, "n" + std::to_string(i) + "\n", kT0 + i));
      if (i % 10 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  std::vector<LogLine> seen;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (seen.size() < static_cast<size_t>(kRecords) &&
         std::chrono::steady_clock::now() < deadline) {
    auto got = f->Poll(200);
    ASSERT_OK(got);
    for (LogLine& l : *got) seen.push_back(std::move(l));
  }
  writer.join();
  ASSERT_TRUE(fs::exists(Rotated(15))) << "the test needs many rotations";
  ASSERT_EQ(seen.size(), static_cast<size_t>(kRecords));
  for (int i = 0; i < kRecords; ++i) {
    ASSERT_EQ(seen[i].content, "n" + std::to_string(i));
    ASSERT_EQ(seen[i].time_ns, kT0 + i);
  }
}

}  // namespace
}  // namespace berth::nodeagent
