#include "tests/k8s/access_rules.hpp"

#include <algorithm>

namespace distls::k8s_double {

namespace json = boost::json;

namespace {

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

bool verb_matches(const Rule& r, const std::string& verb) { return has(r.verbs, "*") || has(r.verbs, verb); }

// rbac.ResourceMatches: "*", the exact "resource/subresource", or "*/subresource".
bool resource_matches(const Rule& r, const std::string& resource) {
  if (has(r.resources, "*") || has(r.resources, resource)) return true;
  const auto slash = resource.find('/');
  return slash != std::string::npos && has(r.resources, "*" + resource.substr(slash));
}

bool name_matches(const Rule& r, const std::string& name) {
  return r.resource_names.empty() || has(r.resource_names, "*") || has(r.resource_names, name);
}

bool namespace_matches(const Rule& r, const std::string& ns) {
  return r.namespaces.empty() || has(r.namespaces, "*") || has(r.namespaces, ns);
}

bool covers(const std::vector<Rule>& rules, const Attributes& a) {
  return std::any_of(rules.begin(), rules.end(), [&](const Rule& r) {
    return verb_matches(r, a.verb) && resource_matches(r, a.resource) && name_matches(r, a.name) &&
           namespace_matches(r, a.ns);
  });
}

json::array to_array(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.push_back(json::value(s));
  return a;
}

bool read_strings(const json::object& o, const char* key, std::vector<std::string>& out) {
  const auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return true;
  if (!it->value().is_array()) return false;
  for (const auto& s : it->value().get_array()) {
    if (!s.is_string()) return false;
    out.emplace_back(s.get_string());
  }
  return true;
}

}  // namespace

json::object Rule::to_json() const {
  json::object o;
  o["verbs"] = to_array(verbs);
  o["resources"] = to_array(resources);
  if (!resource_names.empty()) o["resourceNames"] = to_array(resource_names);
  if (!namespaces.empty()) o["namespaces"] = to_array(namespaces);
  return o;
}

Expected<Rule> Rule::from_json(const json::value& v) {
  if (!v.is_object())
    return bad_request("a rule is an object {verbs, resources, resourceNames?, namespaces?}");
  const auto& o = v.get_object();
  Rule r;
  if (!read_strings(o, "verbs", r.verbs) || !read_strings(o, "resources", r.resources) ||
      !read_strings(o, "resourceNames", r.resource_names) || !read_strings(o, "namespaces", r.namespaces))
    return bad_request("rule fields verbs, resources, resourceNames, namespaces are arrays of strings");
  if (r.verbs.empty() || r.resources.empty()) return bad_request("a rule needs verbs and resources");
  return r;
}

AccessRules AccessRules::with_defaults() {
  AccessRules rules;
  rules.set_group("system:masters", {Rule{{"*"}, {"*"}, {}, {}}});
  rules.set_group("system:serviceaccounts",
                  {Rule{{"create", "get", "list", "watch"}, {"certificatesigningrequests"}, {}, {}}});
  rules.set_user("signer",
                 {
                     Rule{{"get", "list", "watch"}, {"certificatesigningrequests"}, {}, {}},
                     Rule{{"update"},
                          {"certificatesigningrequests/approval", "certificatesigningrequests/status"},
                          {},
                          {}},
                     Rule{{"approve", "sign"}, {"signers"}, {}, {}},
                     Rule{{"get", "list", "watch"}, {"pods"}, {}, {}},
                     Rule{{"get", "create", "update"}, {"leases"}, {}, {}},
                 });
  return rules;
}

bool AccessRules::allowed(const UserInfo& user, const Attributes& a) const {
  if (const auto it = users_.find(user.name); it != users_.end() && covers(it->second, a)) return true;
  for (const auto& g : user.groups)
    if (const auto it = groups_.find(g); it != groups_.end() && covers(it->second, a)) return true;
  return false;
}

json::object AccessRules::to_json() const {
  const auto dump = [](const std::map<std::string, std::vector<Rule>>& m) {
    json::object o;
    for (const auto& [name, rules] : m) {
      json::array a;
      for (const auto& r : rules) a.push_back(r.to_json());
      o[name] = std::move(a);
    }
    return o;
  };
  return {{"users", dump(users_)}, {"groups", dump(groups_)}};
}

std::string denial_reason(const std::string& user, const Attributes& a, const std::string& group) {
  std::string s = "User " + go_quote(user) + " cannot " + a.verb + " resource " + go_quote(a.resource) +
                  " in API group " + go_quote(group);
  return a.ns.empty() ? s + " at the cluster scope" : s + " in the namespace " + go_quote(a.ns);
}

}  // namespace distls::k8s_double
