#include "berth/common/error.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace berth {
namespace {

Status Inner() { return Error::Sys(EEXIST, "mkdir"); }
Status Outer() {
  BERTH_TRY_CTX(Inner(), "create cgroup /x");
  return Ok();
}
Result<int> Number(bool fail) {
  if (fail) return Error::Invalid("no number");
  return 7;
}
Result<int> Doubled(bool fail) {
  BERTH_ASSIGN_OR_RETURN(int n, Number(fail));
  return n * 2;
}

TEST(Error, ContextChainRendersOutermostFirst) {
  Status s = Outer();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().err(), EEXIST);
  EXPECT_EQ(s.error().ToString(), "create cgroup /x: mkdir: File exists (EEXIST)");
}

TEST(Error, NonSystemErrorHasNoErrnoSuffix) {
  EXPECT_EQ(Error::Msg("spec.process: missing").ToString(), "spec.process: missing");
}

TEST(Error, AssignOrReturnPropagates) {
  ASSERT_OK(Doubled(false));
  EXPECT_EQ(*Doubled(false), 14);
  EXPECT_ERRNO(Doubled(true), EINVAL);
}

TEST(Error, ResultWrapAddsContext) {
  Result<int> r = Number(true).Wrap("parse");
  EXPECT_EQ(r.error().ToString(), "parse: no number: Invalid argument (EINVAL)");
}

TEST(Error, ErrnoNameUnknown) {
  EXPECT_STREQ(ErrnoName(ENOENT), "ENOENT");
  EXPECT_STREQ(ErrnoName(9999), "E9999");
}

}  // namespace
}  // namespace berth
