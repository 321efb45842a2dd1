// What `distls signer` approves: a CSR from a pod's service account asking exactly for
// that pod's identity. Pure functions over the API objects, so that every rule is a row
// in a unit-test table.
#pragma once

#include <chrono>
#include <string>
#include <variant>
#include <vector>

#include <boost/json/value.hpp>

#include "distls/cert_builder.hpp"
#include "distls/ossl.hpp"

namespace distls::k8s {

struct SignerPolicy {
  std::string signer_name;                // only CSRs for this signerName are ours
  std::chrono::seconds max_ttl{24 * 3600}; // longer requests are issued this long
  std::string trust_domain;               // URI SANs must be spiffe://<td>/ns/<ns>/sa/<sa>; "" refuses URIs
  std::string cluster_domain = "cluster.local";
};

// A CSR that passed the structural checks: who asks, and for what.
struct CsrRequest {
  std::string name;
  std::string ns, service_account;  // from spec.username, set by the API server
  std::string ip;                   // the one IP SAN: the pod's IP
  std::vector<std::string> dns;
  std::vector<std::string> uris;
  std::string common_name;
  std::chrono::seconds ttl{0};      // granted: min(expirationSeconds, max_ttl)
  std::string csr_pem;
};

struct Verdict {
  bool approve = false;
  std::string reason;   // CamelCase, as Kubernetes condition reasons are
  std::string message;  // for people: what was checked, or what was wrong
};

// Requester, usages, the CSR itself (PEM, self-signature) and the shape of its SANs.
std::variant<CsrRequest, Verdict> examine(const boost::json::value& csr, const SignerPolicy& policy);

// The pods found with the requested IP in the requester's namespace (a PodList): exactly
// one must be Running, or Pending with that IP, not terminating, not on the host network,
// and run as the requesting service account; DNS SANs must be its own names.
Verdict check_pods(const CsrRequest& request, const boost::json::value& pod_list, const SignerPolicy& policy);

// The leaf to issue for an approved request.
certs::LeafSpec leaf_spec(const CsrRequest& request);

}  // namespace distls::k8s
