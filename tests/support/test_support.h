// Test helpers shared by every test binary: result assertions and the
// REQUIRE_* skips that name what a host lacks (never a silent pass).
#pragma once

#include <string>

#include <gtest/gtest.h>

#include "berth/common/error.h"
#include "berth/common/unique_fd.h"

namespace berth::testing {

// Closed set of host features a test may need.
enum class Feature {
  kUserNamespace,
  kCgroup2,             // a writable cgroup2 mount
  kCgroup2Controllers,  // cgroup2 offers cpu, memory and pids
  kOverlayfs,
  kSeccomp,
  kBusybox,  // /bin/busybox from busybox-static, to build test rootfs
};

const char* FeatureName(Feature f);
// Empty when present, else why it is missing.
std::string MissingFeature(Feature f);
bool IsRoot();
// Receives one fd sent with SCM_RIGHTS (runc's console socket protocol);
// an invalid UniqueFd on failure.
UniqueFd ReceiveFd(int sock);

}  // namespace berth::testing

#define ASSERT_OK(expr)                                                         \
  do {                                                                          \
    const auto& berth_r_ = (expr);                                              \
    ASSERT_TRUE(berth_r_.ok()) << #expr << ": " << berth_r_.error().ToString(); \
  } while (0)

#define EXPECT_OK(expr)                                                         \
  do {                                                                          \
    const auto& berth_r_ = (expr);                                              \
    EXPECT_TRUE(berth_r_.ok()) << #expr << ": " << berth_r_.error().ToString(); \
  } while (0)

#define EXPECT_ERRNO(expr, expected)                                              \
  do {                                                                            \
    const auto& berth_r_ = (expr);                                                \
    ASSERT_FALSE(berth_r_.ok()) << #expr << " succeeded, wanted " #expected;      \
    EXPECT_EQ(berth_r_.error().err(), (expected)) << berth_r_.error().ToString(); \
  } while (0)

#define REQUIRE_ROOT()                                             \
  do {                                                             \
    if (!::berth::testing::IsRoot()) GTEST_SKIP() << "needs root"; \
  } while (0)

#define REQUIRE_FEATURE(feature)                                                 \
  do {                                                                           \
    std::string berth_missing_ = ::berth::testing::MissingFeature(feature);      \
    if (!berth_missing_.empty()) {                                               \
      GTEST_SKIP() << "needs " << ::berth::testing::FeatureName(feature) << ": " \
                   << berth_missing_;                                            \
    }                                                                            \
  } while (0)
