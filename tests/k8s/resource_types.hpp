// What the double knows about each resource it serves: names, scope, and the fields a
// fieldSelector may use (SelectableFields / GetAttrs in the real registry).
#pragma once

#include <set>
#include <string>

#include <boost/json/object.hpp>

#include "tests/k8s/api_error.hpp"
#include "tests/k8s/selectors.hpp"

namespace distls::k8s_double {

struct ResourceType {
  GroupResource gr;
  std::string kind;         // "CertificateSigningRequest"
  std::string api_version;  // "certificates.k8s.io/v1"
  bool namespaced;
  std::set<std::string> field_labels;
  FieldSet (*fields)(const boost::json::object&);

  // "CertificateSigningRequest.certificates.k8s.io", or "Pod" in the core group: how
  // Invalid errors name the kind.
  std::string qualified_kind() const { return gr.group.empty() ? kind : kind + "." + gr.group; }
  std::string list_kind() const { return kind + "List"; }
};

const ResourceType& csr_type();
const ResourceType& pod_type();
const ResourceType& lease_type();  // coordination.k8s.io/v1, for leader election

}  // namespace distls::k8s_double
