#include "tests/k8s/store/selectors.hpp"

#include <gtest/gtest.h>

namespace distls::k8s_double {
namespace {

const std::set<std::string> kCsrFields = {"metadata.name", "spec.signerName"};

FieldSelector field(std::string_view text) {
  auto s = FieldSelector::parse(text, kCsrFields);
  EXPECT_TRUE(s) << text << ": " << (s ? "" : s.error().message);
  return s ? *s : FieldSelector{};
}

LabelSelector label(std::string_view text) {
  auto s = LabelSelector::parse(text);
  EXPECT_TRUE(s) << text << ": " << (s ? "" : s.error().message);
  return s ? *s : LabelSelector{};
}

TEST(FieldSelector, EmptyMatchesEverything) {
  EXPECT_TRUE(field("").empty());
  EXPECT_TRUE(field("").matches({{"metadata.name", "x"}}));
}

TEST(FieldSelector, EqualityForms) {
  const FieldSet f = {{"metadata.name", "csr-1"}, {"spec.signerName", "distls.io/erlang-dist"}};
  EXPECT_TRUE(field("spec.signerName=distls.io/erlang-dist").matches(f));
  EXPECT_TRUE(field("spec.signerName==distls.io/erlang-dist").matches(f));
  EXPECT_FALSE(field("spec.signerName!=distls.io/erlang-dist").matches(f));
  EXPECT_FALSE(field("spec.signerName=example.com/other").matches(f));
  EXPECT_TRUE(field("spec.signerName=distls.io/erlang-dist,metadata.name=csr-1").matches(f));
  EXPECT_FALSE(field("spec.signerName=distls.io/erlang-dist,metadata.name=csr-2").matches(f));
}

TEST(FieldSelector, EscapedSeparatorsInValues) {
  const auto s = field(R"(metadata.name=a\,b\=c\\d)");
  ASSERT_EQ(s.terms().size(), 1u);
  EXPECT_EQ(s.terms()[0].value, R"(a,b=c\d)");
  EXPECT_TRUE(s.matches({{"metadata.name", R"(a,b=c\d)"}}));
}

TEST(FieldSelector, EmptyValueMatchesEmptyField) {
  EXPECT_TRUE(field("spec.signerName=").matches({{"spec.signerName", ""}}));
  EXPECT_FALSE(field("spec.signerName=").matches({{"spec.signerName", "x.io/y"}}));
}

TEST(FieldSelector, UnsupportedLabelIsBadRequest) {
  const auto s = FieldSelector::parse("status.podIP=10.0.0.1", kCsrFields);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, 400u);
  EXPECT_EQ(s.error().message, "field label not supported: status.podIP");
}

TEST(FieldSelector, MalformedTermsAreRejected) {
  EXPECT_FALSE(FieldSelector::parse("metadata.name", kCsrFields));
  EXPECT_FALSE(FieldSelector::parse(R"(metadata.name=a\x)", kCsrFields));
  EXPECT_FALSE(FieldSelector::parse("metadata.name=a=b", kCsrFields));
}

TEST(LabelSelector, AllOperators) {
  const LabelSet l = {{"app", "distls"}, {"tier", "dist"}};
  EXPECT_TRUE(label("app=distls").matches(l));
  EXPECT_TRUE(label("app==distls").matches(l));
  EXPECT_FALSE(label("app!=distls").matches(l));
  EXPECT_TRUE(label("app in (a, distls)").matches(l));
  EXPECT_FALSE(label("app notin (a,distls)").matches(l));
  EXPECT_TRUE(label("tier").matches(l));
  EXPECT_FALSE(label("!tier").matches(l));
  EXPECT_TRUE(label("!missing").matches(l));
  EXPECT_TRUE(label("app=distls, tier in (dist)").matches(l));
  EXPECT_FALSE(label("app=distls,tier=web").matches(l));
}

TEST(LabelSelector, MissingLabelSatisfiesNegations) {
  const LabelSet none;
  EXPECT_TRUE(label("app!=x").matches(none));
  EXPECT_TRUE(label("app notin (x)").matches(none));
  EXPECT_FALSE(label("app in (x)").matches(none));
  EXPECT_FALSE(label("app").matches(none));
}

TEST(LabelSelector, QualifiedKeys) {
  EXPECT_TRUE(label("app.kubernetes.io/name=distls").matches({{"app.kubernetes.io/name", "distls"}}));
}

TEST(LabelSelector, SyntaxErrorsAreBadRequest) {
  for (const char* bad : {"app in x", "app in (a", "app ~ b", ",", "app=a,,b=c", "!"}) {
    const auto s = LabelSelector::parse(bad);
    EXPECT_FALSE(s) << bad;
    if (!s) {
      EXPECT_EQ(s.error().code, 400u);
    }
  }
}

}  // namespace
}  // namespace distls::k8s_double
