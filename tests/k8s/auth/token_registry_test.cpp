#include "tests/k8s/auth/token_registry.hpp"

#include <map>

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

TEST(TokenRegistry, PodBoundTokensCarryExtraAndDieWithThePod) {
  IdSource ids(1);
  const auto now = [] { return std::chrono::system_clock::from_time_t(1'700'000'000); };
  TokenRegistry reg(ids, now);
  std::map<std::string, std::string> pods{{"app/web-0", "uid-1"}};
  reg.set_pod_lookup([&](const std::string& ns, const std::string& name) -> std::optional<std::string> {
    const auto it = pods.find(ns + "/" + name);
    if (it == pods.end()) return std::nullopt;
    return it->second;
  });
  const std::string user = "system:serviceaccount:app:web";
  reg.add("legacy", user, {});
  reg.add("bound", user, {}, std::nullopt, BoundPod{"app", "web-0", "uid-1", "node-a"});
  reg.add("unscheduled", user, {}, std::nullopt, BoundPod{"app", "web-0", "uid-1", ""});

  const auto legacy = reg.authenticate("Bearer legacy");
  ASSERT_TRUE(legacy);
  EXPECT_TRUE(legacy->extra.empty());
  const auto bound = reg.authenticate("Bearer bound");
  ASSERT_TRUE(bound);
  EXPECT_EQ(bound->uid, legacy->uid);
  EXPECT_EQ(bound->extra.at(kPodNameKey), Groups{"web-0"});
  EXPECT_EQ(bound->extra.at(kPodUidKey), Groups{"uid-1"});
  EXPECT_EQ(bound->extra.at(kNodeNameKey), Groups{"node-a"});
  ASSERT_EQ(bound->extra.at(kNodeUidKey).size(), 1u);
  ASSERT_EQ(bound->extra.at(kCredentialIdKey).size(), 1u);
  EXPECT_EQ(bound->extra.at(kCredentialIdKey)[0].rfind("JTI=", 0), 0u);
  const auto unscheduled = reg.authenticate("Bearer unscheduled");
  ASSERT_TRUE(unscheduled);
  EXPECT_FALSE(unscheduled->extra.contains(kNodeNameKey));
  EXPECT_FALSE(unscheduled->extra.contains(kNodeUidKey));
  EXPECT_NE(unscheduled->extra.at(kCredentialIdKey), bound->extra.at(kCredentialIdKey));

  pods["app/web-0"] = "uid-2";  // replaced by a pod of the same name
  EXPECT_FALSE(reg.authenticate("Bearer bound"));
  EXPECT_TRUE(reg.authenticate("Bearer legacy"));
  pods["app/web-0"] = "uid-1";
  EXPECT_TRUE(reg.authenticate("Bearer bound"));
  pods.clear();  // deleted
  EXPECT_FALSE(reg.authenticate("Bearer bound"));
}

TEST(TokenRegistry, RotationRevokesTheSamePodsTokensOnly) {
  IdSource ids(2);
  TokenRegistry reg(ids, [] { return std::chrono::system_clock::from_time_t(1'700'000'000); });
  reg.set_pod_lookup([](const std::string&, const std::string& name) -> std::optional<std::string> {
    return "uid-" + name;
  });
  const std::string user = "system:serviceaccount:app:web";
  reg.add("legacy", user, {});
  reg.add("web-0-old", user, {}, std::nullopt, BoundPod{"app", "web-0", "uid-web-0", ""});
  reg.add("web-1", user, {}, std::nullopt, BoundPod{"app", "web-1", "uid-web-1", ""});
  reg.add("web-0-new", user, {}, std::nullopt, BoundPod{"app", "web-0", "uid-web-0", ""});
  EXPECT_EQ(reg.revoke_user(user, "web-0-new"), 1u);
  EXPECT_FALSE(reg.authenticate("Bearer web-0-old"));
  EXPECT_TRUE(reg.authenticate("Bearer web-1"));
  EXPECT_TRUE(reg.authenticate("Bearer legacy"));
}

}  // namespace
}  // namespace distls::k8s_double
