#include "tests/k8s/access_rules.hpp"

#include <gtest/gtest.h>

namespace distls::k8s_double {
namespace {

const UserInfo kSa{"system:serviceaccount:app:web",
                   "",
                   {"system:serviceaccounts", "system:serviceaccounts:app", "system:authenticated"},
                   {}};
const UserInfo kSigner{"signer", "", {"system:authenticated"}, {}};
const UserInfo kAdmin{"admin", "", {"system:masters", "system:authenticated"}, {}};
const UserInfo kNobody{"nobody", "", {"system:authenticated"}, {}};

TEST(AccessRules, DefaultRoles) {
  const auto rules = AccessRules::with_defaults();
  for (const char* verb : {"create", "get", "list", "watch"})
    EXPECT_TRUE(rules.allowed(kSa, {verb, "certificatesigningrequests", "", ""})) << verb;
  EXPECT_FALSE(rules.allowed(kSa, {"update", "certificatesigningrequests/approval", "x", ""}));
  EXPECT_FALSE(rules.allowed(kSa, {"list", "pods", "", "app"}));
  EXPECT_FALSE(rules.allowed(kSa, {"delete", "certificatesigningrequests", "x", ""}));

  EXPECT_TRUE(rules.allowed(kSigner, {"update", "certificatesigningrequests/approval", "x", ""}));
  EXPECT_TRUE(rules.allowed(kSigner, {"update", "certificatesigningrequests/status", "x", ""}));
  EXPECT_TRUE(rules.allowed(kSigner, {"approve", "signers", "distls.io/erlang-dist", ""}));
  EXPECT_TRUE(rules.allowed(kSigner, {"list", "pods", "", "app"}));
  EXPECT_FALSE(rules.allowed(kSigner, {"create", "certificatesigningrequests", "", ""}));

  EXPECT_TRUE(rules.allowed(kAdmin, {"deletecollection", "certificatesigningrequests", "", ""}));
  EXPECT_FALSE(rules.allowed(kNobody, {"get", "certificatesigningrequests", "x", ""}));
}

TEST(AccessRules, ResourceNamesNamespacesAndSubresourceWildcards) {
  AccessRules rules;
  rules.set_user("nobody", {Rule{{"get"}, {"certificatesigningrequests"}, {"mine"}, {}},
                            Rule{{"update"}, {"*/status"}, {}, {}}, Rule{{"list"}, {"pods"}, {}, {"app"}}});
  EXPECT_TRUE(rules.allowed(kNobody, {"get", "certificatesigningrequests", "mine", ""}));
  EXPECT_FALSE(rules.allowed(kNobody, {"get", "certificatesigningrequests", "yours", ""}));
  EXPECT_TRUE(rules.allowed(kNobody, {"update", "certificatesigningrequests/status", "x", ""}));
  EXPECT_FALSE(rules.allowed(kNobody, {"update", "certificatesigningrequests/approval", "x", ""}));
  EXPECT_TRUE(rules.allowed(kNobody, {"list", "pods", "", "app"}));
  EXPECT_FALSE(rules.allowed(kNobody, {"list", "pods", "", "other"}));
  rules.remove_user("nobody");
  EXPECT_FALSE(rules.allowed(kNobody, {"get", "certificatesigningrequests", "mine", ""}));
}

TEST(AccessRules, JsonRoundTrip) {
  const auto r = Rule::from_json(Rule{{"get", "list"}, {"pods"}, {"a"}, {"ns"}}.to_json());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->verbs, (std::vector<std::string>{"get", "list"}));
  EXPECT_EQ(r->namespaces, std::vector<std::string>{"ns"});
  EXPECT_FALSE(Rule::from_json(boost::json::object{{"verbs", boost::json::array{"get"}}}));
}

TEST(AccessRules, DenialReasonMatchesRbacWording) {
  EXPECT_EQ(denial_reason("u", {"list", "pods", "", "app"}, ""),
            "User \"u\" cannot list resource \"pods\" in API group \"\" in the namespace \"app\"");
  EXPECT_EQ(denial_reason("u", {"create", "certificatesigningrequests", "", ""}, "certificates.k8s.io"),
            "User \"u\" cannot create resource \"certificatesigningrequests\" in API group "
            "\"certificates.k8s.io\" at "
            "the cluster scope");
}

}  // namespace
}  // namespace distls::k8s_double
