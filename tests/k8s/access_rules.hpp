// A small stand-in for RBAC: each user and each group has a list of PolicyRule-like rules
// (verbs x resources [x resourceNames] [x namespaces]); a request is allowed when any rule
// of the user or of one of its groups covers it. Matching follows
// plugin/pkg/auth/authorizer/rbac (VerbMatches, ResourceMatches, "*" and "*/subresource").
// API groups are not part of a rule: every resource name the double serves is unique.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "tests/k8s/api_error.hpp"
#include "tests/k8s/user_info.hpp"

namespace distls::k8s_double {

struct Rule {
  std::vector<std::string>
      verbs;  // get list watch create update patch delete deletecollection approve sign, or *
  std::vector<std::string> resources;  // "certificatesigningrequests", "certificatesigningrequests/approval",
                                       // "pods", "signers", "*"
  std::vector<std::string> resource_names;  // empty: any
  std::vector<std::string> namespaces;      // empty: any (a ClusterRole); else a Role in each

  boost::json::object to_json() const;
  static Expected<Rule> from_json(const boost::json::value& v);
};

// What a request asks to do, as the apiserver's RequestInfo resolver works it out.
struct Attributes {
  std::string verb;
  std::string resource;  // with "/subresource" when there is one
  std::string name;      // "" for collections
  std::string ns;        // "" for cluster-scoped
};

class AccessRules {
 public:
  // system:masters may do anything; system:serviceaccounts may create, get, list and watch
  // CSRs (the requester role of kubernetes-csr.md); user "signer" is the approver + signer
  // role: get/list/watch CSRs, update /approval and /status, approve and sign any signerName,
  // get/list/watch pods, get/create/update leases (leader election).
  static AccessRules with_defaults();

  void set_user(const std::string& user, std::vector<Rule> rules) { users_[user] = std::move(rules); }
  void set_group(const std::string& group, std::vector<Rule> rules) { groups_[group] = std::move(rules); }
  bool remove_user(const std::string& user) { return users_.erase(user) > 0; }
  bool remove_group(const std::string& group) { return groups_.erase(group) > 0; }

  bool allowed(const UserInfo& user, const Attributes& a) const;

  boost::json::object to_json() const;  // {"users":{name:[rules]}, "groups":{...}}

 private:
  std::map<std::string, std::vector<Rule>> users_;
  std::map<std::string, std::vector<Rule>> groups_;
};

// The RBAC authorizer's denial text: `User "u" cannot list resource "pods" in API group ""
// in the namespace "ns"` (or "at the cluster scope").
std::string denial_reason(const std::string& user, const Attributes& a, const std::string& group);

}  // namespace distls::k8s_double
