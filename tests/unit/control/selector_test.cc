#include "berth/control/selector.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace berth::control {
namespace {

bool Sel(const std::string& text, const Labels& labels) {
  auto s = LabelSelector::Parse(text);
  EXPECT_TRUE(s.ok()) << text << ": " << s.error().ToString();
  return s.ok() && s->Matches(labels);
}

std::string ParseError(const std::string& text) {
  auto s = LabelSelector::Parse(text);
  return s.ok() ? "" : s.error().ToString();
}

TEST(LabelSelectorTest, EqualityAndSetBased) {
  const Labels web = {{"app", "web"}, {"env", "prod"}, {"tier", "front"}};
  EXPECT_TRUE(Sel("", web));
  EXPECT_TRUE(Sel("app=web", web));
  EXPECT_TRUE(Sel("app==web", web));
  EXPECT_FALSE(Sel("app=db", web));
  EXPECT_TRUE(Sel("app!=db", web));
  EXPECT_TRUE(Sel("missing!=x", web));
  EXPECT_TRUE(Sel("env in (prod, staging)", web));
  EXPECT_FALSE(Sel("env in (staging)", web));
  EXPECT_TRUE(Sel("env notin (staging,dev)", web));
  EXPECT_TRUE(Sel("absent notin (x)", web));
  EXPECT_TRUE(Sel("tier", web));
  EXPECT_FALSE(Sel("!tier", web));
  EXPECT_TRUE(Sel("!legacy", web));
  EXPECT_TRUE(Sel("app=web, env in (prod),tier,!legacy", web));
  EXPECT_FALSE(Sel("app=web,env in (dev)", web));
  EXPECT_TRUE(Sel("example.com/team=core", {{"example.com/team", "core"}}));
  EXPECT_TRUE(Sel("app=", {{"app", ""}}));
}

TEST(LabelSelectorTest, RoundTripsThroughString) {
  auto s = LabelSelector::Parse("app=web,env in (staging,prod,prod),!legacy,tier,x!=y");
  ASSERT_OK(s);
  EXPECT_EQ(s->String(), "app=web,env in (prod,staging),!legacy,tier,x!=y");
  auto again = LabelSelector::Parse(s->String());
  ASSERT_OK(again);
  EXPECT_EQ(again->String(), s->String());
}

TEST(LabelSelectorTest, ErrorsNameThePosition) {
  EXPECT_NE(ParseError("app=web,,").find("expected a label key"), std::string::npos);
  EXPECT_NE(ParseError("env inn (a)").find("unknown operator \"inn\""), std::string::npos);
  EXPECT_NE(ParseError("env in a").find("expected '(' after in/notin"), std::string::npos);
  EXPECT_NE(ParseError("env in (a b)").find("expected ',' or ')'"), std::string::npos);
  EXPECT_NE(ParseError("app=web tier=x").find("at "), std::string::npos);
  EXPECT_NE(ParseError("-bad=x").find("label key"), std::string::npos);
  EXPECT_NE(ParseError("Example.com/x=y").find("prefix must be a DNS subdomain"),
            std::string::npos);
  EXPECT_NE(ParseError(std::string("k=") + std::string(64, 'v')).find("label value"),
            std::string::npos);
}

TEST(LabelSelectorTest, Structured) {
  Requirement in;
  in.op = Requirement::Op::kIn;
  in.values = {"b", "a"};
  Requirement exists;
  exists.op = Requirement::Op::kExists;
  auto s = LabelSelector::FromStructured({{"app", "web"}}, {{"env", in}, {"tier", exists}},
                                         "spec.selector");
  ASSERT_OK(s);
  EXPECT_TRUE(s->Matches({{"app", "web"}, {"env", "a"}, {"tier", "x"}}));
  EXPECT_FALSE(s->Matches({{"app", "web"}, {"env", "c"}, {"tier", "x"}}));
  Requirement empty_in;
  empty_in.op = Requirement::Op::kIn;
  auto bad = LabelSelector::FromStructured({}, {{"env", empty_in}}, "spec.selector");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().ToString().find("spec.selector.matchExpressions[0].values"),
            std::string::npos);
  Requirement eq;
  eq.op = Requirement::Op::kEquals;
  eq.values = {"x"};
  auto bad_op = LabelSelector::FromStructured({}, {{"env", eq}}, "spec.selector");
  ASSERT_FALSE(bad_op.ok());
  EXPECT_NE(bad_op.error().ToString().find("operator"), std::string::npos);
}

TEST(FieldSelectorTest, AllowedFieldsOnly) {
  auto f = ParseFieldSelector("spec.nodeName=n1,status.phase!=Failed",
                              {"spec.nodeName", "status.phase"});
  ASSERT_OK(f);
  ASSERT_EQ(f->size(), 2u);
  EXPECT_EQ((*f)[0].field, "spec.nodeName");
  EXPECT_TRUE((*f)[0].equals);
  EXPECT_EQ((*f)[0].value, "n1");
  EXPECT_FALSE((*f)[1].equals);
  auto bad = ParseFieldSelector("metadata.foo=x", {"spec.nodeName"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().ToString().find("\"metadata.foo\" is not a supported field"),
            std::string::npos);
  EXPECT_FALSE(ParseFieldSelector("spec.nodeName", {"spec.nodeName"}).ok());
}

}  // namespace
}  // namespace berth::control
