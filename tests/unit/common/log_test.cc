#include "berth/common/log.h"

#include <cstdlib>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_support.h"

namespace berth::log {
namespace {

TEST(Log, TextFormatQuotesWhenNeeded) {
  std::string line = FormatLine(log::Format::kText, Level::kInfo, "T", "started",
                                {{"id", "web"}, {"pid", 42}, {"msg", "two words"}});
  EXPECT_EQ(line, "T info started id=web pid=42 msg=\"two words\"");
}

TEST(Log, JsonFormatIsOneObject) {
  std::string line =
      FormatLine(log::Format::kJson, Level::kError, "T", "exec failed", {{"path", "/bin/x"}});
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["level"], "error");
  EXPECT_EQ(j["msg"], "exec failed");
  EXPECT_EQ(j["time"], "T");
  EXPECT_EQ(j["path"], "/bin/x");
}

TEST(Log, JournalFormatCarriesSyslogPriority) {
  EXPECT_EQ(FormatLine(log::Format::kJournal, Level::kWarn, "T", "slow", {{"ms", 12}}),
            "<4>warning slow ms=12");
  EXPECT_EQ(FormatLine(log::Format::kJournal, Level::kError, "T", "x", {}), "<3>error x");
  EXPECT_EQ(FormatLine(log::Format::kJournal, Level::kDebug, "T", "x", {}), "<7>debug x");
}

TEST(Log, StderrIsJournalOnlyWhenTheStreamMatches) {
  ::setenv("JOURNAL_STREAM", "1:2", 1);
  EXPECT_FALSE(StderrIsJournal());
  ::unsetenv("JOURNAL_STREAM");
  EXPECT_FALSE(StderrIsJournal());
}

TEST(Log, ParseLevel) {
  ASSERT_OK(ParseLevel("debug"));
  EXPECT_EQ(*ParseLevel("warn"), Level::kWarn);
  EXPECT_ERRNO(ParseLevel("loud"), EINVAL);
}

}  // namespace
}  // namespace berth::log
