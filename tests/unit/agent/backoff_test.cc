#include "backoff.h"

#include <gtest/gtest.h>

namespace berth::nodeagent {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

TEST(CrashBackoffTest, DoublesToTheCapAndResetsAfterALongRun) {
  CrashBackoff b;  // Kubernetes: 10 s doubling to 5 min, reset after 10 min
  EXPECT_EQ(b.Next(seconds(1)), seconds(10));
  EXPECT_EQ(b.Next(seconds(1)), seconds(20));
  EXPECT_EQ(b.Next(seconds(1)), seconds(40));
  EXPECT_EQ(b.Next(seconds(1)), seconds(80));
  EXPECT_EQ(b.Next(seconds(1)), seconds(160));
  EXPECT_EQ(b.Next(seconds(1)), minutes(5));
  EXPECT_EQ(b.Next(seconds(1)), minutes(5));
  EXPECT_EQ(b.Next(minutes(10)), seconds(10));
  EXPECT_EQ(b.Next(minutes(9)), seconds(20));
}

TEST(CrashBackoffTest, CustomPolicy) {
  CrashBackoff b({milliseconds(100), milliseconds(300), seconds(1)});
  EXPECT_EQ(b.Next(milliseconds(0)), milliseconds(100));
  EXPECT_EQ(b.Next(milliseconds(0)), milliseconds(200));
  EXPECT_EQ(b.Next(milliseconds(0)), milliseconds(300));
  EXPECT_EQ(b.current(), milliseconds(300));
}

}  // namespace
}  // namespace berth::nodeagent
