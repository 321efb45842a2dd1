#include "tests/k8s/token_registry.hpp"

#include <gtest/gtest.h>

namespace distls::k8s_double {
namespace {

using Groups = std::vector<std::string>;

TEST(TokenSpec, ServiceAccountUsersKeepTheirColons) {
  auto s = parse_token_spec("t1=system:serviceaccount:app:web");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->token, "t1");
  EXPECT_EQ(s->user, "system:serviceaccount:app:web");
  EXPECT_TRUE(s->groups.empty());
  s = parse_token_spec("t2=system:serviceaccount:app:web:extra,more");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->user, "system:serviceaccount:app:web");
  EXPECT_EQ(s->groups, (Groups{"extra", "more"}));
  s = parse_token_spec("t3=signer:distls:signers");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->user, "signer");
  EXPECT_EQ(s->groups, Groups{"distls:signers"});
  s = parse_token_spec("t4=admin:system:masters");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->user, "admin");
  EXPECT_EQ(s->groups, Groups{"system:masters"});
}

TEST(TokenSpec, Malformed) {
  for (const char* bad :
       {"", "noequals", "=user", "t=", "t=system:serviceaccount:app", "t=system:serviceaccount::web"})
    EXPECT_FALSE(parse_token_spec(bad)) << bad;
}

TEST(TokenRegistry, GroupsAndStableUid) {
  IdSource ids(7);
  TokenRegistry reg(ids, [] { return std::chrono::system_clock::time_point{}; });
  const auto& a = reg.add("a", "system:serviceaccount:app:web", {"extra"});
  EXPECT_EQ(a.user.groups, (Groups{"system:serviceaccounts", "system:serviceaccounts:app", "extra",
                                   "system:authenticated"}));
  const std::string uid = a.user.uid;
  const auto& b = reg.add("", "system:serviceaccount:app:web", {});
  EXPECT_FALSE(b.token.empty());
  EXPECT_EQ(b.user.uid, uid);
  EXPECT_EQ(reg.add("c", "signer", {}).user.groups, Groups{"system:authenticated"});
}

TEST(TokenRegistry, BearerHeaderParsing) {
  IdSource ids(7);
  TokenRegistry reg(ids, [] { return std::chrono::system_clock::time_point{}; });
  reg.add("tok", "u", {});
  EXPECT_TRUE(reg.authenticate("Bearer tok"));
  EXPECT_TRUE(reg.authenticate("bearer tok"));
  EXPECT_FALSE(reg.authenticate("Basic dTpw"));
  EXPECT_FALSE(reg.authenticate("Bearer other"));
  EXPECT_FALSE(reg.authenticate(""));
}

TEST(TokenRegistry, ExpiryAndRotation) {
  IdSource ids(7);
  auto now = std::chrono::system_clock::time_point{};
  TokenRegistry reg(ids, [&] { return now; });
  reg.add("old", "u", {}, std::chrono::seconds(10));
  reg.add("other", "v", {});
  EXPECT_TRUE(reg.authenticate("Bearer old"));
  now += std::chrono::seconds(10);
  EXPECT_FALSE(reg.authenticate("Bearer old"));
  reg.add("old2", "u", {});
  reg.add("new", "u", {});
  EXPECT_EQ(reg.revoke_user("u", "new"), 2u);
  EXPECT_TRUE(reg.authenticate("Bearer new"));
  EXPECT_TRUE(reg.authenticate("Bearer other"));
  EXPECT_TRUE(reg.revoke("new"));
  EXPECT_FALSE(reg.authenticate("Bearer new"));
}

}  // namespace
}  // namespace distls::k8s_double
