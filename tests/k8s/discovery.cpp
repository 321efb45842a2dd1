#include "tests/k8s/discovery.hpp"

#include <boost/json/array.hpp>

namespace distls::k8s_double {

namespace json = boost::json;

namespace {

json::array strings(std::initializer_list<const char*> l) {
  json::array a;
  for (const char* s : l) a.push_back(json::value(s));
  return a;
}

json::object group_version(const char* gv, const char* v) { return {{"groupVersion", gv}, {"version", v}}; }

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

json::object core_v1_resources() {
  const json::array pod_verbs = strings({"get", "list", "watch"});
  return {
      {"kind", "APIResourceList"},
      {"groupVersion", "v1"},
      {"resources",
       json::array{
           json::object{{"name", "pods"},
                        {"singularName", "pod"},
                        {"namespaced", true},
                        {"kind", "Pod"},
                        {"verbs", pod_verbs},
                        {"shortNames", strings({"po"})},
                        {"categories", strings({"all"})}},
       }},
  };
}

json::object api_group_list() {
  const json::object certificates = group_version("certificates.k8s.io/v1", "v1");
  const json::object coordination = group_version("coordination.k8s.io/v1", "v1");
  return {
      {"kind", "APIGroupList"},
      {"apiVersion", "v1"},
      {"groups", json::array{json::object{{"name", "certificates.k8s.io"},
                                          {"versions", json::array{certificates}},
                                          {"preferredVersion", certificates}},
                             json::object{{"name", "coordination.k8s.io"},
                                          {"versions", json::array{coordination}},
                                          {"preferredVersion", coordination}}}},
  };
}

json::object certificates_group() {
  const json::object v1 = group_version("certificates.k8s.io/v1", "v1");
  return {{"kind", "APIGroup"},
          {"apiVersion", "v1"},
          {"name", "certificates.k8s.io"},
          {"versions", json::array{v1}},
          {"preferredVersion", v1}};
}

json::object coordination_group() {
  const json::object v1 = group_version("coordination.k8s.io/v1", "v1");
  return {{"kind", "APIGroup"},
          {"apiVersion", "v1"},
          {"name", "coordination.k8s.io"},
          {"versions", json::array{v1}},
          {"preferredVersion", v1}};
}

json::object coordination_v1_resources() {
  return {
      {"kind", "APIResourceList"},
      {"apiVersion", "v1"},
      {"groupVersion", "coordination.k8s.io/v1"},
      {"resources", json::array{json::object{{"name", "leases"},
                                             {"singularName", "lease"},
                                             {"namespaced", true},
                                             {"kind", "Lease"},
                                             {"verbs", strings({"create", "delete", "deletecollection", "get",
                                                                "list", "patch", "update", "watch"})}}}},
  };
}

json::object certificates_v1_resources() {
  return {
      {"kind", "APIResourceList"},
      {"apiVersion", "v1"},
      {"groupVersion", "certificates.k8s.io/v1"},
      {"resources",
       json::array{
           json::object{{"name", "certificatesigningrequests"},
                        {"singularName", "certificatesigningrequest"},
                        {"namespaced", false},
                        {"kind", "CertificateSigningRequest"},
                        {"verbs", strings({"create", "delete", "deletecollection", "get", "list", "patch",
                                           "update", "watch"})},
                        {"shortNames", strings({"csr"})}},
           json::object{{"name", "certificatesigningrequests/approval"},
                        {"singularName", ""},
                        {"namespaced", false},
                        {"kind", "CertificateSigningRequest"},
                        {"verbs", strings({"get", "patch", "update"})}},
           json::object{{"name", "certificatesigningrequests/status"},
                        {"singularName", ""},
                        {"namespaced", false},
                        {"kind", "CertificateSigningRequest"},
                        {"verbs", strings({"get", "patch", "update"})}},
       }},
  };
}

}  // namespace distls::k8s_double
