#include "tests/k8s/api/openapi.hpp"

#include <boost/json/array.hpp>

#include "tests/k8s/api/discovery.hpp"

namespace distls::k8s_double {

namespace json = boost::json;

namespace {

// Bump when the documents change: clients cache a group-version's document by this hash.
constexpr const char* kHash = "k8s-api-double-2";

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

// The list/create/read/replace/patch/delete operations of a plain resource, named as the
// real OpenAPI names them (listCoreV1NamespacedEvent, createRbacAuthorizationV1ClusterRole...).
void crud(json::object& paths, const std::string& prefix, const std::string& op_group, const char* kind,
          bool namespaced, bool writable, const char* group, const char* plural) {
  const json::object gvk{{"group", group}, {"version", "v1"}, {"kind", kind}};
  const std::string scope = namespaced ? "Namespaced" : "";
  const std::string base =
      prefix + (namespaced ? "/namespaces/{namespace}/" : "/") + plural;
  const auto id = [&](const char* verb, const std::string& suffix = "") {
    return std::string(verb) + op_group + scope + kind + suffix;
  };
  json::object collection{{"get", operation("list", id("list").c_str(), gvk, false)}};
  json::object item{{"get", operation("get", id("read").c_str(), gvk, false)},
                    {"delete", operation("delete", id("delete").c_str(), gvk, false)}};
  if (writable) {
    collection["post"] = operation("post", id("create").c_str(), gvk, true);
    collection["delete"] = operation("deletecollection", id("deletecollection").c_str(), gvk, false);
    item["put"] = operation("put", id("replace").c_str(), gvk, true);
    item["patch"] = operation("patch", id("patch").c_str(), gvk, true);
  }
  paths[base] = std::move(collection);
  paths[base + "/{name}"] = std::move(item);
  if (namespaced)
    paths[prefix + "/" + plural] = json::object{
        {"get", operation("list", (std::string("list") + op_group + kind + "ForAllNamespaces").c_str(), gvk, false)}};
}

json::object core_v1() {
  json::object paths;
  crud(paths, "/api/v1", "CoreV1", "Pod", true, false, "", "pods");
  crud(paths, "/api/v1", "CoreV1", "Event", true, true, "", "events");
  return document(std::move(paths));
}

json::object coordination_v1() {
  json::object paths;
  crud(paths, "/apis/coordination.k8s.io/v1", "CoordinationV1", "Lease", true, true, "coordination.k8s.io", "leases");
  return document(std::move(paths));
}

json::object apps_v1() {
  json::object paths;
  crud(paths, "/apis/apps/v1", "AppsV1", "StatefulSet", true, false, "apps", "statefulsets");
  return document(std::move(paths));
}

json::object rbac_v1() {
  json::object paths;
  const std::string prefix = "/apis/rbac.authorization.k8s.io/v1";
  const char* g = "rbac.authorization.k8s.io";
  crud(paths, prefix, "RbacAuthorizationV1", "ClusterRole", false, true, g, "clusterroles");
  crud(paths, prefix, "RbacAuthorizationV1", "ClusterRoleBinding", false, true, g, "clusterrolebindings");
  crud(paths, prefix, "RbacAuthorizationV1", "Role", true, true, g, "roles");
  crud(paths, prefix, "RbacAuthorizationV1", "RoleBinding", true, true, g, "rolebindings");
  return document(std::move(paths));
}

}  // namespace

json::object openapi_v3_root() {
  json::object paths;
  for (const char* gv : {"api/v1", "apis/certificates.k8s.io/v1", "apis/coordination.k8s.io/v1", "apis/apps/v1",
                         "apis/rbac.authorization.k8s.io/v1"})
    paths[gv] = json::object{{"serverRelativeURL", std::string("/openapi/v3/") + gv + "?hash=" + kHash}};
  return {{"paths", std::move(paths)}};
}

std::optional<json::object> openapi_v3_group_version(const std::string& gv_path) {
  if (gv_path == "apis/certificates.k8s.io/v1") return certificates_v1();
  if (gv_path == "api/v1") return core_v1();
  if (gv_path == "apis/coordination.k8s.io/v1") return coordination_v1();
  if (gv_path == "apis/apps/v1") return apps_v1();
  if (gv_path == "apis/rbac.authorization.k8s.io/v1") return rbac_v1();
  return std::nullopt;
}

}  // namespace distls::k8s_double
