// RBAC's PolicyRule (rbac.authorization.k8s.io/v1) and how one rule matches a request,
// exactly as plugin/pkg/auth/authorizer/rbac/rbac.go RuleAllows and the helpers of
// pkg/apis/rbac/v1/evaluation_helpers.go (VerbMatches, APIGroupMatches, ResourceMatches,
// ResourceNameMatches, NonResourceURLMatches) decide it.
#pragma once

#include <string>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "tests/k8s/http/api_error.hpp"

namespace distls::k8s_double {

struct PolicyRule {
  std::vector<std::string> verbs;
  std::vector<std::string> api_groups;
  std::vector<std::string> resources;  // "pods", "certificatesigningrequests/approval", "*/status", "*"
  std::vector<std::string> resource_names;
  std::vector<std::string> non_resource_urls;  // "/version", "/apis/*", "*"

  boost::json::object to_json() const;
  // Reads the JSON shape; structural validity (verbs present, ...) is validate_rule's job.
  static Expected<PolicyRule> from_json(const boost::json::value& v);
};

// What a request asks to do, as the apiserver's RequestInfoResolver works it out
// (k8s.io/apiserver/pkg/endpoints/request/requestinfo.go).
struct Attributes {
  std::string verb;  // get list watch create update patch delete deletecollection; approve, sign
  std::string api_group;
  std::string resource;
  std::string subresource;
  std::string name;  // "" for collections
  std::string ns;    // "" for cluster-scoped and all-namespace requests
  bool resource_request = true;
  std::string path;  // for non-resource requests: "/version", "/apis"

  std::string resource_and_subresource() const {
    return subresource.empty() ? resource : resource + "/" + subresource;
  }
};

bool rule_allows(const PolicyRule& rule, const Attributes& a);

// responsewriters.forbiddenMessage: `User "u" cannot list resource "pods" in API group ""
// in the namespace "ns"` (or "at the cluster scope", or `cannot get path "/apis"`).
std::string forbidden_message(const std::string& user, const Attributes& a);

}  // namespace distls::k8s_double
