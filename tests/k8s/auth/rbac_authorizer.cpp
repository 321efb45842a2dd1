#include "tests/k8s/auth/rbac_authorizer.hpp"

#include <algorithm>
#include <vector>

#include <boost/json/array.hpp>

#include "tests/k8s/encoding/json_util.hpp"

namespace distls::k8s_double {

namespace json = boost::json;

namespace {

// The rules of the role a binding references, or why there are none.
const json::array* role_rules(const ObjectStore& store, const json::object& binding, const std::string& binding_ns,
                              std::string& error) {
  const std::string kind = string_at(binding, {"roleRef", "kind"});
  const std::string name = string_at(binding, {"roleRef", "name"});
  const json::object* role = nullptr;
  if (kind == "ClusterRole") {
    role = store.get("clusterroles", "", name);
    if (role == nullptr) error = "clusterrole.rbac.authorization.k8s.io " + go_quote(name) + " not found";
  } else if (kind == "Role") {
    role = store.get("roles", binding_ns, name);
    if (role == nullptr) error = "role.rbac.authorization.k8s.io " + go_quote(name) + " not found";
  } else {
    error = "unsupported role reference kind: " + go_quote(kind);
  }
  if (role == nullptr) return nullptr;
  const auto* rules = role->if_contains("rules");
  static const json::array none;
  return rules != nullptr && rules->is_array() ? &rules->get_array() : &none;
}

bool binding_applies(const UserInfo& user, const json::object& binding, const std::string& binding_ns) {
  const auto* subjects = binding.if_contains("subjects");
  if (subjects == nullptr || !subjects->is_array()) return false;
  return std::any_of(subjects->get_array().begin(), subjects->get_array().end(), [&](const json::value& s) {
    return s.is_object() && subject_applies(user, s.get_object(), binding_ns);
  });
}

bool any_rule_allows(const json::array& rules, const Attributes& a) {
  for (const auto& r : rules) {
    auto rule = PolicyRule::from_json(r);
    if (rule && rule_allows(*rule, a)) return true;
  }
  return false;
}

}  // namespace

bool subject_applies(const UserInfo& user, const json::object& subject, const std::string& binding_ns) {
  const std::string kind = string_at(subject, {"kind"});
  const std::string name = string_at(subject, {"name"});
  if (kind == "User") return user.name == name;
  if (kind == "Group") return user.in_group(name);
  if (kind == "ServiceAccount") {
    std::string ns = string_at(subject, {"namespace"});
    if (ns.empty()) ns = binding_ns;
    if (ns.empty()) return false;
    return user.name == "system:serviceaccount:" + ns + ":" + name;
  }
  return false;
}

AuthzDecision RbacAuthorizer::authorize(const UserInfo& user, const Attributes& a) const {
  if (user.in_group("system:masters")) return {true, ""};
  std::vector<std::string> errors;
  const auto visit = [&](const json::object& binding, const std::string& binding_ns) {
    if (!binding_applies(user, binding, binding_ns)) return false;
    std::string error;
    const json::array* rules = role_rules(store_, binding, binding_ns, error);
    if (rules == nullptr) {
      if (std::find(errors.begin(), errors.end(), error) == errors.end()) errors.push_back(error);
      return false;
    }
    return any_rule_allows(*rules, a);
  };
  for (const auto* b : store_.list("clusterrolebindings", ""))
    if (visit(*b, "")) return {true, ""};
  if (!a.ns.empty())
    for (const auto* b : store_.list("rolebindings", a.ns))
      if (visit(*b, a.ns)) return {true, ""};
  AuthzDecision d;
  // utilerrors.NewAggregate: one error as itself, several in brackets.
  if (errors.size() == 1) d.reason = "RBAC: " + errors[0];
  if (errors.size() > 1) {
    d.reason = "RBAC: [";
    for (std::size_t i = 0; i < errors.size(); ++i) d.reason += (i ? ", " : "") + errors[i];
    d.reason += "]";
  }
  return d;
}

}  // namespace distls::k8s_double
