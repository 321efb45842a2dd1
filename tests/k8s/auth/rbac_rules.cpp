#include "tests/k8s/auth/rbac_rules.hpp"

#include <algorithm>

#include <boost/json/array.hpp>

namespace distls::k8s_double {

namespace json = boost::json;

namespace {

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

bool verb_matches(const PolicyRule& r, const std::string& verb) { return has(r.verbs, "*") || has(r.verbs, verb); }

bool api_group_matches(const PolicyRule& r, const std::string& group) {
  return has(r.api_groups, "*") || has(r.api_groups, group);
}

// "*", the exact "resource/subresource", or "*/subresource" when the request has one: a
// rule for "*/status" covers every status subresource, and "pods" covers no subresource.
bool resource_matches(const PolicyRule& r, const std::string& combined, const std::string& subresource) {
  for (const auto& res : r.resources) {
    if (res == "*" || res == combined) return true;
    if (!subresource.empty() && res == "*/" + subresource) return true;
  }
  return false;
}

// No wildcard here: resourceNames ["*"] names an object called "*".
bool resource_name_matches(const PolicyRule& r, const std::string& name) {
  return r.resource_names.empty() || has(r.resource_names, name);
}

// "*", the exact path, or a prefix ending in "*".
bool non_resource_url_matches(const PolicyRule& r, const std::string& path) {
  for (const auto& u : r.non_resource_urls) {
    if (u == "*" || u == path) return true;
    if (!u.empty() && u.back() == '*' && path.compare(0, u.size() - 1, u, 0, u.size() - 1) == 0) return true;
  }
  return false;
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

bool rule_allows(const PolicyRule& rule, const Attributes& a) {
  if (a.resource_request)
    return verb_matches(rule, a.verb) && api_group_matches(rule, a.api_group) &&
           resource_matches(rule, a.resource_and_subresource(), a.subresource) &&
           resource_name_matches(rule, a.name);
  return verb_matches(rule, a.verb) && non_resource_url_matches(rule, a.path);
}

json::object PolicyRule::to_json() const {
  json::object o;
  o["verbs"] = to_array(verbs);
  if (!api_groups.empty()) o["apiGroups"] = to_array(api_groups);
  if (!resources.empty()) o["resources"] = to_array(resources);
  if (!resource_names.empty()) o["resourceNames"] = to_array(resource_names);
  if (!non_resource_urls.empty()) o["nonResourceURLs"] = to_array(non_resource_urls);
  return o;
}

Expected<PolicyRule> PolicyRule::from_json(const json::value& v) {
  if (!v.is_object()) return bad_request("a rule is an object {verbs, apiGroups, resources, resourceNames?}");
  const auto& o = v.get_object();
  PolicyRule r;
  if (!read_strings(o, "verbs", r.verbs) || !read_strings(o, "apiGroups", r.api_groups) ||
      !read_strings(o, "resources", r.resources) || !read_strings(o, "resourceNames", r.resource_names) ||
      !read_strings(o, "nonResourceURLs", r.non_resource_urls))
    return bad_request("rule fields verbs, apiGroups, resources, resourceNames, nonResourceURLs are arrays of strings");
  return r;
}

std::string forbidden_message(const std::string& user, const Attributes& a) {
  if (!a.resource_request) return "User " + go_quote(user) + " cannot " + a.verb + " path " + go_quote(a.path);
  std::string s = "User " + go_quote(user) + " cannot " + a.verb + " resource " +
                  go_quote(a.resource_and_subresource()) + " in API group " + go_quote(a.api_group);
  return a.ns.empty() ? s + " at the cluster scope" : s + " in the namespace " + go_quote(a.ns);
}

}  // namespace distls::k8s_double
