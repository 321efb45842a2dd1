// The authorizer: RBAC over the Roles, ClusterRoles, RoleBindings and ClusterRoleBindings
// in the store, as plugin/pkg/auth/authorizer/rbac (RBACAuthorizer.Authorize) and
// pkg/registry/rbac/validation (DefaultRuleResolver.VisitRulesFor, appliesTo) evaluate
// them: every ClusterRoleBinding whose subjects include the user, then every RoleBinding
// of the request's namespace; allowed when one rule of a referenced role allows it. Before
// RBAC, as kube-apiserver's authorizer chain does, group system:masters is allowed
// everything (authorizerfactory.NewPrivilegedGroups).
#pragma once

#include <string>

#include "tests/k8s/store/object_store.hpp"
#include "tests/k8s/auth/rbac_rules.hpp"
#include "tests/k8s/auth/user_info.hpp"

namespace distls::k8s_double {

struct AuthzDecision {
  bool allowed = false;
  // When denied because a binding names a role that does not exist:
  // `RBAC: clusterrole.rbac.authorization.k8s.io "x" not found`, as the real one says.
  std::string reason;
};

class RbacAuthorizer {
 public:
  explicit RbacAuthorizer(const ObjectStore& store) : store_(store) {}

  AuthzDecision authorize(const UserInfo& user, const Attributes& a) const;
  bool allowed(const UserInfo& user, const Attributes& a) const { return authorize(user, a).allowed; }

 private:
  const ObjectStore& store_;
};

// Does this RBAC subject ({"kind","name","namespace"?}) name the user? A ServiceAccount
// subject without a namespace takes the binding's (`binding_ns`, "" for a ClusterRoleBinding).
bool subject_applies(const UserInfo& user, const boost::json::object& subject, const std::string& binding_ns);

}  // namespace distls::k8s_double
