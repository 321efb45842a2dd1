#include "tests/k8s/auth/rbac_rules.hpp"

#include <gtest/gtest.h>

namespace distls::k8s_double {
namespace {

Attributes res(const char* verb, const char* group, const char* resource, const char* sub = "", const char* name = "",
               const char* ns = "") {
  return {verb, group, resource, sub, name, ns, true, ""};
}

TEST(RbacRules, ApiGroupsCount) {
  const PolicyRule core{{"get", "list"}, {""}, {"pods", "certificatesigningrequests"}, {}, {}};
  EXPECT_TRUE(rule_allows(core, res("list", "", "pods")));
  // A rule in the core group does not cover a resource of the same name in another group.
  EXPECT_FALSE(rule_allows(core, res("list", "certificates.k8s.io", "certificatesigningrequests")));
  const PolicyRule any_group{{"list"}, {"*"}, {"certificatesigningrequests"}, {}, {}};
  EXPECT_TRUE(rule_allows(any_group, res("list", "certificates.k8s.io", "certificatesigningrequests")));
  EXPECT_FALSE(rule_allows(core, res("delete", "", "pods")));
  EXPECT_TRUE(rule_allows(PolicyRule{{"*"}, {""}, {"pods"}, {}, {}}, res("delete", "", "pods")));
}

TEST(RbacRules, SubresourcesAndWildcards) {
  const PolicyRule csr{{"update"}, {"certificates.k8s.io"}, {"certificatesigningrequests"}, {}, {}};
  // The resource does not cover its subresources.
  EXPECT_FALSE(rule_allows(csr, res("update", "certificates.k8s.io", "certificatesigningrequests", "approval")));
  const PolicyRule status{{"update"}, {"*"}, {"*/status"}, {}, {}};
  EXPECT_TRUE(rule_allows(status, res("update", "certificates.k8s.io", "certificatesigningrequests", "status")));
  EXPECT_FALSE(rule_allows(status, res("update", "certificates.k8s.io", "certificatesigningrequests", "approval")));
  EXPECT_FALSE(rule_allows(status, res("update", "certificates.k8s.io", "certificatesigningrequests")));
  const PolicyRule all{{"update"}, {"*"}, {"*"}, {}, {}};
  EXPECT_TRUE(rule_allows(all, res("update", "certificates.k8s.io", "certificatesigningrequests", "approval")));
}

TEST(RbacRules, ResourceNamesHaveNoWildcard) {
  const PolicyRule named{{"approve"}, {"certificates.k8s.io"}, {"signers"}, {"distls.io/erlang-dist"}, {}};
  EXPECT_TRUE(rule_allows(named, res("approve", "certificates.k8s.io", "signers", "", "distls.io/erlang-dist")));
  EXPECT_FALSE(rule_allows(named, res("approve", "certificates.k8s.io", "signers", "", "distls.io/*")));
  const PolicyRule star{{"approve"}, {"certificates.k8s.io"}, {"signers"}, {"*"}, {}};
  EXPECT_FALSE(rule_allows(star, res("approve", "certificates.k8s.io", "signers", "", "distls.io/erlang-dist")));
  // A list of everything is not about one name.
  const PolicyRule lease{{"get", "list"}, {"coordination.k8s.io"}, {"leases"}, {"distls-signer"}, {}};
  EXPECT_TRUE(rule_allows(lease, res("get", "coordination.k8s.io", "leases", "", "distls-signer", "x")));
  EXPECT_FALSE(rule_allows(lease, res("list", "coordination.k8s.io", "leases", "", "", "x")));
}

TEST(RbacRules, NonResourceUrls) {
  const PolicyRule discovery{{"get"}, {}, {}, {}, {"/apis", "/apis/*", "/version"}};
  const auto path = [](const char* p) { return Attributes{"get", "", "", "", "", "", false, p}; };
  EXPECT_TRUE(rule_allows(discovery, path("/apis")));
  EXPECT_TRUE(rule_allows(discovery, path("/apis/certificates.k8s.io/v1")));
  EXPECT_TRUE(rule_allows(discovery, path("/version")));
  EXPECT_FALSE(rule_allows(discovery, path("/version/")));
  EXPECT_FALSE(rule_allows(discovery, path("/openapi/v3")));
  // Resource rules never match a path, nor path rules a resource.
  EXPECT_FALSE(rule_allows(PolicyRule{{"get"}, {"*"}, {"*"}, {}, {}}, path("/apis")));
  EXPECT_FALSE(rule_allows(PolicyRule{{"*"}, {}, {}, {}, {"*"}}, res("get", "", "pods")));
}

TEST(RbacRules, JsonRoundTrip) {
  const PolicyRule r{{"get"}, {""}, {"pods"}, {"a"}, {}};
  const auto back = PolicyRule::from_json(r.to_json());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->api_groups, std::vector<std::string>{""});
  EXPECT_EQ(back->resource_names, std::vector<std::string>{"a"});
  EXPECT_FALSE(PolicyRule::from_json(boost::json::object{{"verbs", "get"}}));
}

TEST(RbacRules, ForbiddenMessageMatchesTheApiserver) {
  EXPECT_EQ(forbidden_message("u", res("list", "", "pods", "", "", "app")),
            "User \"u\" cannot list resource \"pods\" in API group \"\" in the namespace \"app\"");
  EXPECT_EQ(forbidden_message("u", res("update", "certificates.k8s.io", "certificatesigningrequests", "approval", "x")),
            "User \"u\" cannot update resource \"certificatesigningrequests/approval\" in API group "
            "\"certificates.k8s.io\" at the cluster scope");
  EXPECT_EQ(forbidden_message("u", Attributes{"get", "", "", "", "", "", false, "/apis"}),
            "User \"u\" cannot get path \"/apis\"");
}

}  // namespace
}  // namespace distls::k8s_double
