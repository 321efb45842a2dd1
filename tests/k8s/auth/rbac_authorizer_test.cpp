#include "tests/k8s/auth/rbac_authorizer.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include "tests/k8s/control/control_api.hpp"
#include "tests/k8s/auth/rbac_bootstrap.hpp"

namespace distls::k8s_double {
namespace {

namespace json = boost::json;

UserInfo service_account(const std::string& ns, const std::string& name) {
  return {"system:serviceaccount:" + ns + ":" + name,
          "",
          {"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
          {}};
}

Attributes res(const char* verb, const char* group, const char* resource, const char* ns = "", const char* name = "",
               const char* sub = "") {
  return {verb, group, resource, sub, name, ns, true, ""};
}

class RbacAuthorizerTest : public ::testing::Test {
 protected:
  ObjectStore store{100};
  IdSource ids{7};
  std::chrono::system_clock::time_point now = std::chrono::system_clock::from_time_t(1'700'000'000);
  RbacAuthorizer authz{store};

  void load(const std::string& list) {
    auto n = apply_rbac(store, json::parse(list), ids, now);
    ASSERT_TRUE(n) << n.error().message;
  }
};

TEST_F(RbacAuthorizerTest, NothingIsAllowedWithoutABinding) {
  const UserInfo web = service_account("app", "web");
  EXPECT_FALSE(authz.allowed(web, res("create", "certificates.k8s.io", "certificatesigningrequests")));
  EXPECT_FALSE(authz.allowed(web, Attributes{"get", "", "", "", "", "", false, "/apis"}));
  // system:masters is allowed everything, bindings or not.
  const UserInfo admin{"admin", "", {"system:masters", "system:authenticated"}, {}};
  EXPECT_TRUE(authz.allowed(admin, res("delete", "apps", "statefulsets", "x", "y")));
}

TEST_F(RbacAuthorizerTest, BootstrapPolicyGivesEveryoneDiscoveryAndSelfReviewsOnly) {
  install_bootstrap_policy(store, ids, now);
  const UserInfo web = service_account("app", "web");
  for (const char* path : {"/api", "/api/v1", "/apis", "/apis/certificates.k8s.io/v1", "/version", "/openapi/v3"})
    EXPECT_TRUE(authz.allowed(web, Attributes{"get", "", "", "", "", "", false, path})) << path;
  EXPECT_FALSE(authz.allowed(web, Attributes{"post", "", "", "", "", "", false, "/apis"}));
  EXPECT_TRUE(authz.allowed(web, res("create", "authorization.k8s.io", "selfsubjectaccessreviews")));
  EXPECT_TRUE(authz.allowed(web, res("create", "authentication.k8s.io", "selfsubjectreviews")));
  EXPECT_FALSE(authz.allowed(web, res("list", "certificates.k8s.io", "certificatesigningrequests")));
}

TEST_F(RbacAuthorizerTest, ClusterRoleBindingOfAServiceAccountNeedsItsNamespace) {
  load(R"({"items":[
    {"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"requester"},
     "rules":[{"apiGroups":["certificates.k8s.io"],"resources":["certificatesigningrequests"],"verbs":["create"]}]},
    {"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding","metadata":{"name":"requester"},
     "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"requester"},
     "subjects":[{"kind":"ServiceAccount","name":"web","namespace":"app"}]}]})");
  const auto create = res("create", "certificates.k8s.io", "certificatesigningrequests");
  EXPECT_TRUE(authz.allowed(service_account("app", "web"), create));
  EXPECT_FALSE(authz.allowed(service_account("other", "web"), create));
  EXPECT_FALSE(authz.allowed(service_account("app", "db"), create));
  // The API refuses a ClusterRoleBinding subject without a namespace.
  auto refused = apply_rbac(store, json::parse(R"({"apiVersion":"rbac.authorization.k8s.io/v1",
      "kind":"ClusterRoleBinding","metadata":{"name":"x"},
      "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"requester"},
      "subjects":[{"kind":"ServiceAccount","name":"web"}]})"), ids, now);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, 422u);
  EXPECT_NE(refused.error().message.find("subjects[0].namespace: Required value"), std::string::npos)
      << refused.error().message;
}

TEST_F(RbacAuthorizerTest, RoleBindingsGrantInTheirNamespaceOnly) {
  load(R"({"items":[
    {"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"pod-reader"},
     "rules":[{"apiGroups":[""],"resources":["pods"],"verbs":["list"]}]},
    {"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{"name":"signer-reads-app","namespace":"app"},
     "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"pod-reader"},
     "subjects":[{"kind":"ServiceAccount","name":"distls-signer","namespace":"distls-system"}]},
    {"apiVersion":"rbac.authorization.k8s.io/v1","kind":"Role","metadata":{"name":"lease","namespace":"distls-system"},
     "rules":[{"apiGroups":["coordination.k8s.io"],"resources":["leases"],"verbs":["get","update"],
               "resourceNames":["distls-signer"]}]},
    {"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{"name":"lease","namespace":"distls-system"},
     "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"lease"},
     "subjects":[{"kind":"ServiceAccount","name":"distls-signer"}]}]})");
  const UserInfo signer = service_account("distls-system", "distls-signer");
  EXPECT_TRUE(authz.allowed(signer, res("list", "", "pods", "app")));
  EXPECT_FALSE(authz.allowed(signer, res("list", "", "pods", "other")));
  EXPECT_FALSE(authz.allowed(signer, res("list", "", "pods")));  // all namespaces
  // A ServiceAccount subject without a namespace is the binding's own namespace.
  EXPECT_TRUE(authz.allowed(signer, res("update", "coordination.k8s.io", "leases", "distls-system", "distls-signer")));
  EXPECT_FALSE(authz.allowed(signer, res("update", "coordination.k8s.io", "leases", "distls-system", "other")));
  EXPECT_FALSE(authz.allowed(signer, res("update", "coordination.k8s.io", "leases", "app", "distls-signer")));
}

TEST_F(RbacAuthorizerTest, UsersGroupsAndMissingRoles) {
  load(R"({"items":[
    {"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"viewer"},
     "rules":[{"apiGroups":["apps"],"resources":["statefulsets"],"verbs":["get"]}]},
    {"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding","metadata":{"name":"viewers"},
     "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"viewer"},
     "subjects":[{"kind":"User","name":"alice"},{"kind":"Group","name":"system:serviceaccounts:app"}]},
    {"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding","metadata":{"name":"dangling"},
     "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"gone"},
     "subjects":[{"kind":"User","name":"bob"}]}]})");
  const auto get = res("get", "apps", "statefulsets", "app", "web");
  EXPECT_TRUE(authz.allowed({"alice", "", {"system:authenticated"}, {}}, get));
  EXPECT_TRUE(authz.allowed(service_account("app", "anyone"), get));
  EXPECT_FALSE(authz.allowed(service_account("db", "anyone"), get));
  const AuthzDecision bob = authz.authorize({"bob", "", {"system:authenticated"}, {}}, get);
  EXPECT_FALSE(bob.allowed);
  EXPECT_EQ(bob.reason, "RBAC: clusterrole.rbac.authorization.k8s.io \"gone\" not found");
  // Deleting the binding takes the grant away at once.
  store.remove("clusterrolebindings", "", "viewers");
  EXPECT_FALSE(authz.allowed({"alice", "", {"system:authenticated"}, {}}, get));
}

}  // namespace
}  // namespace distls::k8s_double
