#include "tests/k8s/openapi.hpp"

#include <boost/json/array.hpp>

#include "tests/k8s/discovery.hpp"

namespace distls::k8s_double {

namespace json = boost::json;

namespace {

// Bump when the documents change: clients cache a group-version's document by this hash.
constexpr const char* kHash = "k8s-api-double-1";

json::object query_param(const char* name, const char* description) {
  return {{"name", name},
          {"in", "query"},
          {"description", description},
          {"schema", json::object{{"type", "string"}, {"uniqueItems", true}}}};
}

json::object operation(const char* action, const char* id, const json::object& gvk, bool writes) {
  json::array params;
  if (writes) {
    params.push_back(
        query_param("dryRun", "When present, indicates that modifications should not be persisted."));
    params.push_back(query_param(
        "fieldManager",
        "fieldManager is a name associated with the actor or entity that is making these changes."));
    params.push_back(
        query_param("fieldValidation",
                    "fieldValidation instructs the server on how to handle objects in the request "
                    "containing unknown or duplicate fields: Ignore, Warn (the default) or Strict."));
  }
  return {{"operationId", id},
          {"x-kubernetes-action", action},
          {"x-kubernetes-group-version-kind", gvk},
          {"parameters", std::move(params)},
          {"responses", json::object{{"200", json::object{{"description", "OK"}}}}}};
}

json::object document(json::object paths) {
  return {{"openapi", "3.0.0"},
          {"info", json::object{{"title", "Kubernetes (k8s-api-double)"}, {"version", kServedGitVersion}}},
          {"paths", std::move(paths)},
          {"components", json::object{{"schemas", json::object{}}}}};
}

json::object certificates_v1() {
  const json::object gvk{
      {"group", "certificates.k8s.io"}, {"version", "v1"}, {"kind", "CertificateSigningRequest"}};
  const std::string base = "/apis/certificates.k8s.io/v1/certificatesigningrequests";
  json::object paths;
  paths[base] = json::object{
      {"get", operation("list", "listCertificatesV1CertificateSigningRequest", gvk, false)},
      {"post", operation("post", "createCertificatesV1CertificateSigningRequest", gvk, true)},
      {"delete",
       operation("deletecollection", "deleteCertificatesV1CollectionCertificateSigningRequest", gvk, false)}};
  paths[base + "/{name}"] = json::object{
      {"get", operation("get", "readCertificatesV1CertificateSigningRequest", gvk, false)},
      {"put", operation("put", "replaceCertificatesV1CertificateSigningRequest", gvk, true)},
      {"patch", operation("patch", "patchCertificatesV1CertificateSigningRequest", gvk, true)},
      {"delete", operation("delete", "deleteCertificatesV1CertificateSigningRequest", gvk, false)}};
  for (const char* sub : {"approval", "status"}) {
    const std::string s(sub);
    const std::string suffix = s == "approval" ? "Approval" : "Status";
    paths[base + "/{name}/" + s] = json::object{
        {"get",
         operation("get", ("readCertificatesV1CertificateSigningRequest" + suffix).c_str(), gvk, false)},
        {"put",
         operation("put", ("replaceCertificatesV1CertificateSigningRequest" + suffix).c_str(), gvk, true)},
        {"patch",
         operation("patch", ("patchCertificatesV1CertificateSigningRequest" + suffix).c_str(), gvk, true)}};
  }
  return document(std::move(paths));
}

json::object core_v1() {
  const json::object gvk{{"group", ""}, {"version", "v1"}, {"kind", "Pod"}};
  json::object paths;
  paths["/api/v1/pods"] =
      json::object{{"get", operation("list", "listCoreV1PodForAllNamespaces", gvk, false)}};
  paths["/api/v1/namespaces/{namespace}/pods"] =
      json::object{{"get", operation("list", "listCoreV1NamespacedPod", gvk, false)}};
  paths["/api/v1/namespaces/{namespace}/pods/{name}"] =
      json::object{{"get", operation("get", "readCoreV1NamespacedPod", gvk, false)},
                   {"delete", operation("delete", "deleteCoreV1NamespacedPod", gvk, false)}};
  return document(std::move(paths));
}

json::object coordination_v1() {
  const json::object gvk{{"group", "coordination.k8s.io"}, {"version", "v1"}, {"kind", "Lease"}};
  const std::string base = "/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases";
  json::object paths;
  paths["/apis/coordination.k8s.io/v1/leases"] =
      json::object{{"get", operation("list", "listCoordinationV1LeaseForAllNamespaces", gvk, false)}};
  paths[base] = json::object{{"get", operation("list", "listCoordinationV1NamespacedLease", gvk, false)},
                             {"post", operation("post", "createCoordinationV1NamespacedLease", gvk, true)}};
  paths[base + "/{name}"] =
      json::object{{"get", operation("get", "readCoordinationV1NamespacedLease", gvk, false)},
                   {"put", operation("put", "replaceCoordinationV1NamespacedLease", gvk, true)},
                   {"patch", operation("patch", "patchCoordinationV1NamespacedLease", gvk, true)},
                   {"delete", operation("delete", "deleteCoordinationV1NamespacedLease", gvk, false)}};
  return document(std::move(paths));
}

}  // namespace

json::object openapi_v3_root() {
  json::object paths;
  for (const char* gv : {"api/v1", "apis/certificates.k8s.io/v1", "apis/coordination.k8s.io/v1"})
    paths[gv] = json::object{{"serverRelativeURL", std::string("/openapi/v3/") + gv + "?hash=" + kHash}};
  return {{"paths", std::move(paths)}};
}

std::optional<json::object> openapi_v3_group_version(const std::string& gv_path) {
  if (gv_path == "apis/certificates.k8s.io/v1") return certificates_v1();
  if (gv_path == "api/v1") return core_v1();
  if (gv_path == "apis/coordination.k8s.io/v1") return coordination_v1();
  return std::nullopt;
}

}  // namespace distls::k8s_double
