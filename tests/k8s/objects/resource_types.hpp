// What the double knows about each resource it serves: names, scope, the fields a
// fieldSelector may use (SelectableFields / GetAttrs in the real registry), how a body is
// decoded and validated, and whether the API may write it at all.
#pragma once

#include <set>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "tests/k8s/http/api_error.hpp"
#include "tests/k8s/objects/object_decoder.hpp"
#include "tests/k8s/store/selectors.hpp"

namespace distls::k8s_double {

struct ResourceType {
  GroupResource gr;
  std::string kind;         // "CertificateSigningRequest"
  std::string api_version;  // "certificates.k8s.io/v1"
  bool namespaced;
  std::set<std::string> field_labels;
  FieldSet (*fields)(const boost::json::object&);
  // Pods and StatefulSets are the test's to shape (control API): the API only reads and
  // deletes them. Others are created and updated through the API too.
  bool writable = false;
  // Leases refuse an update without metadata.resourceVersion (AllowUnconditionalUpdate).
  bool unconditional_update = true;
  Schema (*schema)() = nullptr;
  // The v1 defaulting (SetDefaults_*) the API applies to a decoded body.
  void (*defaults)(boost::json::object& obj) = nullptr;
  // The registry strategy's Validate / ValidateUpdate beyond metadata (old is null on
  // create); nullptr: anything goes.
  std::vector<FieldError> (*validate)(const boost::json::object& obj, const boost::json::object* old) = nullptr;

  // "CertificateSigningRequest.certificates.k8s.io", or "Pod" in the core group: how
  // Invalid errors name the kind.
  std::string qualified_kind() const { return gr.group.empty() ? kind : kind + "." + gr.group; }
  std::string list_kind() const { return kind + "List"; }
  std::string version() const { return api_version.substr(api_version.find('/') + 1); }
};

const ResourceType& csr_type();
const ResourceType& pod_type();
const ResourceType& lease_type();  // coordination.k8s.io/v1, for leader election
const ResourceType& event_type();  // core/v1 events
const ResourceType& configmap_type();  // core/v1 configmaps (trust bundles the signer publishes)
const ResourceType& statefulset_type();
const ResourceType& role_type();
const ResourceType& cluster_role_type();
const ResourceType& role_binding_type();
const ResourceType& cluster_role_binding_type();

// Every type the store holds, and the one a URL names: ("", "pods"), ("apps", "statefulsets").
const std::vector<const ResourceType*>& all_types();
const ResourceType* find_type(const std::string& group, const std::string& resource);

}  // namespace distls::k8s_double
