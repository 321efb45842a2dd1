#include "tests/k8s/api/discovery.hpp"

#include <vector>

#include <boost/json/array.hpp>

namespace distls::k8s_double {

namespace json = boost::json;

namespace {

using Names = std::vector<const char*>;

json::array strings(const Names& l) {
  json::array a;
  for (const char* s : l) a.push_back(json::value(s));
  return a;
}

const Names kAllVerbs = {"create", "delete", "deletecollection", "get",
                                                      "list",   "patch",  "update",           "watch"};

struct Resource {
  const char* name;
  const char* singular;
  bool namespaced;
  const char* kind;
  Names verbs;
  Names short_names;
  Names categories;
};

json::object resource_json(const Resource& r) {
  json::object o{{"name", r.name},
                 {"singularName", r.singular},
                 {"namespaced", r.namespaced},
                 {"kind", r.kind},
                 {"verbs", strings(r.verbs)}};
  if (!r.short_names.empty()) o["shortNames"] = strings(r.short_names);
  if (!r.categories.empty()) o["categories"] = strings(r.categories);
  return o;
}

struct Group {
  const char* name;  // "" for the core group
  std::vector<Resource> resources;
};

const std::vector<Group>& groups() {
  static const std::vector<Group> g{
      {"",
       {{"configmaps", "configmap", true, "ConfigMap", kAllVerbs, {"cm"}, {}},
        {"events", "event", true, "Event", kAllVerbs, {"ev"}, {}},
        {"pods", "pod", true, "Pod", {"delete", "get", "list", "watch"}, {"po"}, {"all"}}}},
      {"apps", {{"statefulsets", "statefulset", true, "StatefulSet", {"get", "list", "watch"}, {"sts"}, {"all"}}}},
      {"authentication.k8s.io", {{"selfsubjectreviews", "selfsubjectreview", false, "SelfSubjectReview", {"create"}, {}, {}}}},
      {"authorization.k8s.io",
       {{"selfsubjectaccessreviews", "selfsubjectaccessreview", false, "SelfSubjectAccessReview", {"create"}, {}, {}}}},
      {"certificates.k8s.io",
       {{"certificatesigningrequests", "certificatesigningrequest", false, "CertificateSigningRequest", kAllVerbs,
         {"csr"}, {}},
        {"certificatesigningrequests/approval", "", false, "CertificateSigningRequest", {"get", "patch", "update"},
         {}, {}},
        {"certificatesigningrequests/status", "", false, "CertificateSigningRequest", {"get", "patch", "update"},
         {}, {}}}},
      {"coordination.k8s.io", {{"leases", "lease", true, "Lease", kAllVerbs, {}, {}}}},
      {"rbac.authorization.k8s.io",
       {{"clusterrolebindings", "clusterrolebinding", false, "ClusterRoleBinding", kAllVerbs, {}, {}},
        {"clusterroles", "clusterrole", false, "ClusterRole", kAllVerbs, {}, {}},
        {"rolebindings", "rolebinding", true, "RoleBinding", kAllVerbs, {}, {}},
        {"roles", "role", true, "Role", kAllVerbs, {}, {}}}},
  };
  return g;
}

json::object group_version(const std::string& group) {
  return {{"groupVersion", group + "/v1"}, {"version", "v1"}};
}

json::object group_json(const std::string& name) {
  const json::object v1 = group_version(name);
  return {{"name", name}, {"versions", json::array{v1}}, {"preferredVersion", v1}};
}

json::object resource_list(const Group& g) {
  json::array resources;
  for (const auto& r : g.resources) resources.push_back(resource_json(r));
  const std::string gv = *g.name ? std::string(g.name) + "/v1" : "v1";
  return {{"kind", "APIResourceList"}, {"apiVersion", "v1"}, {"groupVersion", gv}, {"resources", std::move(resources)}};
}

}  // namespace

json::object version_info() {
  return {
      {"major", kServedMajor},           {"minor", kServedMinor},
      {"gitVersion", kServedGitVersion}, {"gitCommit", "0000000000000000000000000000000000000000"},
      {"gitTreeState", "clean"},         {"buildDate", "2024-12-11T17:59:15Z"},
      {"goVersion", "go1.23.3"},         {"compiler", "gc"},
      {"platform", "linux/amd64"},
  };
}

json::object api_versions(const std::string& server_address) {
  return {
      {"kind", "APIVersions"},
      {"versions", strings({"v1"})},
      {"serverAddressByClientCIDRs",
       json::array{json::object{{"clientCIDR", "0.0.0.0/0"}, {"serverAddress", server_address}}}},
  };
}

json::object core_v1_resources() { return resource_list(groups().front()); }

json::object api_group_list() {
  json::array list;
  for (const auto& g : groups())
    if (*g.name) list.push_back(group_json(g.name));
  return {{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", std::move(list)}};
}

std::optional<json::object> api_group(const std::string& name) {
  for (const auto& g : groups())
    if (*g.name && name == g.name) {
      json::object o{{"kind", "APIGroup"}, {"apiVersion", "v1"}};
      for (auto& kv : group_json(name)) o[kv.key()] = kv.value();
      return o;
    }
  return std::nullopt;
}

std::optional<json::object> group_version_resources(const std::string& group_version) {
  for (const auto& g : groups())
    if (*g.name && group_version == std::string(g.name) + "/v1") return resource_list(g);
  return std::nullopt;
}

}  // namespace distls::k8s_double
