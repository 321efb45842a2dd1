#include "tests/k8s/resource_types.hpp"

#include <boost/json/array.hpp>

#include "tests/k8s/json_util.hpp"

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

FieldSet lease_fields(const json::object& lease) {
  return {{"metadata.name", name_of(lease)}, {"metadata.namespace", namespace_of(lease)}};
}

template <class F>
std::set<std::string> keys_of(F f) {
  std::set<std::string> out;
  for (const auto& kv : f(json::object{})) out.insert(kv.first);
  return out;
}

}  // namespace

const ResourceType& csr_type() {
  static const ResourceType t{{"certificates.k8s.io", "certificatesigningrequests"},
                              "CertificateSigningRequest",
                              "certificates.k8s.io/v1",
                              false,
                              keys_of(csr_fields),
                              &csr_fields};
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
                              keys_of(lease_fields),
                              &lease_fields};
  return t;
}

}  // namespace distls::k8s_double
