#include "tests/k8s/objects/resource_types.hpp"

#include <boost/json/array.hpp>

#include "tests/k8s/encoding/json_util.hpp"
#include "tests/k8s/objects/object_strategy.hpp"

namespace distls::k8s_double {

namespace json = boost::json;

namespace {

// registry/certificates/certificates/strategy.go SelectableFields: ObjectMeta's fields for a
// cluster-scoped object plus spec.signerName.
FieldSet csr_fields(const json::object& csr) {
  return {{"metadata.name", name_of(csr)}, {"spec.signerName", string_at(csr, {"spec", "signerName"})}};
}

// registry/core/pod/strategy.go ToSelectableFields. status.podIP is the primary IP,
// i.e. status.podIPs[0].ip, not any of the pod's IPs.
FieldSet pod_fields(const json::object& pod) {
  std::string ip;
  if (const auto* status = object_at(pod, {"status"})) {
    const auto it = status->find("podIPs");
    if (it != status->end() && it->value().is_array() && !it->value().get_array().empty() &&
        it->value().get_array().front().is_object())
      ip = string_at(it->value().get_array().front().get_object(), {"ip"});
  }
  bool host_network = false;
  if (const auto* spec = object_at(pod, {"spec"})) {
    const auto it = spec->find("hostNetwork");
    host_network = it != spec->end() && it->value().is_bool() && it->value().get_bool();
  }
  return {
      {"metadata.name", name_of(pod)},
      {"metadata.namespace", namespace_of(pod)},
      {"spec.nodeName", string_at(pod, {"spec", "nodeName"})},
      {"spec.restartPolicy", string_at(pod, {"spec", "restartPolicy"})},
      {"spec.schedulerName", string_at(pod, {"spec", "schedulerName"})},
      {"spec.serviceAccountName", string_at(pod, {"spec", "serviceAccountName"})},
      {"spec.hostNetwork", host_network ? "true" : "false"},
      {"status.phase", string_at(pod, {"status", "phase"})},
      {"status.podIP", ip},
      {"status.nominatedNodeName", string_at(pod, {"status", "nominatedNodeName"})},
  };
}

// generic.ObjectMetaFieldsSet: what every other resource can be selected by.
FieldSet namespaced_meta_fields(const json::object& obj) {
  return {{"metadata.name", name_of(obj)}, {"metadata.namespace", namespace_of(obj)}};
}
FieldSet cluster_meta_fields(const json::object& obj) { return {{"metadata.name", name_of(obj)}}; }

// registry/core/event/strategy.go ToSelectableFields: what `kubectl describe` and
// `kubectl events` select events by. "source" is source.component, or reportingComponent
// for events that have no source.
FieldSet event_fields(const json::object& e) {
  std::string source = string_at(e, {"source", "component"});
  if (source.empty()) source = string_at(e, {"reportingComponent"});
  return {
      {"metadata.name", name_of(e)},
      {"metadata.namespace", namespace_of(e)},
      {"involvedObject.kind", string_at(e, {"involvedObject", "kind"})},
      {"involvedObject.namespace", string_at(e, {"involvedObject", "namespace"})},
      {"involvedObject.name", string_at(e, {"involvedObject", "name"})},
      {"involvedObject.uid", string_at(e, {"involvedObject", "uid"})},
      {"involvedObject.apiVersion", string_at(e, {"involvedObject", "apiVersion"})},
      {"involvedObject.resourceVersion", string_at(e, {"involvedObject", "resourceVersion"})},
      {"involvedObject.fieldPath", string_at(e, {"involvedObject", "fieldPath"})},
      {"reason", string_at(e, {"reason"})},
      {"reportingComponent", string_at(e, {"reportingComponent"})},
      {"source", source},
      {"type", string_at(e, {"type"})},
  };
}

template <class F>
std::set<std::string> keys_of(F f) {
  std::set<std::string> out;
  for (const auto& kv : f(json::object{})) out.insert(kv.first);
  return out;
}

Schema cluster_role_schema() { return role_schema(true); }
Schema namespaced_role_schema() { return role_schema(false); }
Schema cluster_role_binding_schema() { return role_binding_schema(true); }
Schema namespaced_role_binding_schema() { return role_binding_schema(false); }

}  // namespace

const ResourceType& csr_type() {
  static const ResourceType t{{"certificates.k8s.io", "certificatesigningrequests"},
                              "CertificateSigningRequest",
                              "certificates.k8s.io/v1",
                              false,
                              keys_of(csr_fields),
                              &csr_fields,
                              true,
                              true,
                              &csr_schema};
  return t;
}

const ResourceType& pod_type() {
  static const ResourceType t{{"", "pods"}, "Pod", "v1", true, keys_of(pod_fields), &pod_fields};
  return t;
}

const ResourceType& lease_type() {
  static const ResourceType t{{"coordination.k8s.io", "leases"},
                              "Lease",
                              "coordination.k8s.io/v1",
                              true,
                              keys_of(namespaced_meta_fields),
                              &namespaced_meta_fields,
                              true,
                              false,
                              &lease_schema,
                              nullptr,
                              &validate_lease};
  return t;
}

const ResourceType& event_type() {
  static const ResourceType t{{"", "events"}, "Event",        "v1",    true,        keys_of(event_fields),
                              &event_fields,  true,           true,    &event_schema, nullptr,
                              &validate_event};
  return t;
}

const ResourceType& configmap_type() {
  static const ResourceType t{{"", "configmaps"},
                              "ConfigMap",
                              "v1",
                              true,
                              keys_of(namespaced_meta_fields),
                              &namespaced_meta_fields,
                              true,
                              true,
                              &configmap_schema,
                              nullptr,
                              &validate_configmap};
  return t;
}

const ResourceType& statefulset_type() {
  static const ResourceType t{{"apps", "statefulsets"},         "StatefulSet",
                              "apps/v1",                        true,
                              keys_of(namespaced_meta_fields), &namespaced_meta_fields};
  return t;
}

const ResourceType& role_type() {
  static const ResourceType t{{"rbac.authorization.k8s.io", "roles"},
                              "Role",
                              "rbac.authorization.k8s.io/v1",
                              true,
                              keys_of(namespaced_meta_fields),
                              &namespaced_meta_fields,
                              true,
                              true,
                              &namespaced_role_schema,
                              nullptr,
                              &validate_role};
  return t;
}

const ResourceType& cluster_role_type() {
  static const ResourceType t{{"rbac.authorization.k8s.io", "clusterroles"},
                              "ClusterRole",
                              "rbac.authorization.k8s.io/v1",
                              false,
                              keys_of(cluster_meta_fields),
                              &cluster_meta_fields,
                              true,
                              true,
                              &cluster_role_schema,
                              nullptr,
                              &validate_cluster_role};
  return t;
}

const ResourceType& role_binding_type() {
  static const ResourceType t{{"rbac.authorization.k8s.io", "rolebindings"},
                              "RoleBinding",
                              "rbac.authorization.k8s.io/v1",
                              true,
                              keys_of(namespaced_meta_fields),
                              &namespaced_meta_fields,
                              true,
                              true,
                              &namespaced_role_binding_schema,
                              &default_subjects,
                              &validate_role_binding};
  return t;
}

const ResourceType& cluster_role_binding_type() {
  static const ResourceType t{{"rbac.authorization.k8s.io", "clusterrolebindings"},
                              "ClusterRoleBinding",
                              "rbac.authorization.k8s.io/v1",
                              false,
                              keys_of(cluster_meta_fields),
                              &cluster_meta_fields,
                              true,
                              true,
                              &cluster_role_binding_schema,
                              &default_subjects,
                              &validate_cluster_role_binding};
  return t;
}

const std::vector<const ResourceType*>& all_types() {
  static const std::vector<const ResourceType*> types{
      &csr_type(),  &pod_type(),         &lease_type(),         &event_type(),         &configmap_type(),
      &statefulset_type(), &role_type(), &cluster_role_type(), &role_binding_type(),
      &cluster_role_binding_type()};
  return types;
}

const ResourceType* find_type(const std::string& group, const std::string& resource) {
  for (const auto* t : all_types())
    if (t->gr.group == group && t->gr.resource == resource) return t;
  return nullptr;
}

}  // namespace distls::k8s_double
