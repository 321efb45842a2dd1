// What `distls signer` approves: a CSR made with a pod's own bound service-account token,
// asking exactly for that pod's identity. Pure functions over the API objects, so that
// every rule is a row in a unit-test table.
//
// The pod is the one the API server names in the CSR's spec.extra (pod-name and pod-uid,
// copied from the requester's bound token), not whichever pod has the requested IP: a
// service account is shared by every replica, a bound token is not.
#pragma once

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include <boost/json/value.hpp>

#include "distls/x509/cert_builder.hpp"
#include "distls/x509/ossl.hpp"

namespace distls::k8s {

// spec.extra keys the API server fills from a pod-bound service-account token
// (k8s.io/apiserver/pkg/authentication/serviceaccount; node-name since 1.30).
inline constexpr const char* kExtraPodName = "authentication.kubernetes.io/pod-name";
inline constexpr const char* kExtraPodUid = "authentication.kubernetes.io/pod-uid";
inline constexpr const char* kExtraNodeName = "authentication.kubernetes.io/node-name";

struct SignerPolicy {
  std::string signer_name;                 // only CSRs for this signerName are ours
  std::chrono::seconds max_ttl{3600};      // longer requests are issued this long
  std::string trust_domain;                // URI SANs must be spiffe://<td>/ns/<ns>/sa/<sa>; "" refuses URIs
  std::string cluster_domain = "cluster.local";
  std::set<std::string> namespaces;        // pods of these namespaces only; empty: every namespace
  std::chrono::seconds max_pending_age{300};  // older pending CSRs are abandoned: their requester gave up
  std::chrono::seconds pod_wait{60};       // how long a CSR may wait for its pod's IP to reach the API
};

// A CSR that passed the structural checks: who asks, from which pod, and for what.
struct CsrRequest {
  std::string name;
  std::string ns, service_account;  // from spec.username, set by the API server
  std::string pod_name, pod_uid;    // from spec.extra, set by the API server from the bound token
  std::string node_name;            // from spec.extra when the server sets it (1.30+)
  std::string ip;                   // the one IP SAN: the pod's IP
  std::vector<std::string> dns;
  std::vector<std::string> uris;
  std::string common_name;
  std::chrono::seconds ttl{0};      // granted: min(expirationSeconds, max_ttl)
  std::optional<std::chrono::system_clock::time_point> created;  // metadata.creationTimestamp
  std::string csr_pem;
};

struct Verdict {
  enum class Kind { approve, deny, wait };
  Kind kind = Kind::deny;
  std::string reason;   // CamelCase, as Kubernetes condition reasons are
  std::string message;  // for people: what was checked, or what was wrong

  bool approve() const { return kind == Kind::approve; }
};

// Requester, pod binding, namespace, usages, the CSR itself (PEM, self-signature) and the
// shape of its SANs.
std::variant<CsrRequest, Verdict> examine(const boost::json::value& csr, const SignerPolicy& policy);

// A pending CSR older than the requester waits for it is abandoned: signing it would
// issue a certificate for a key nobody may hold any more (a signer back from an outage
// would otherwise sign the whole backlog at once).
std::optional<Verdict> abandoned(const CsrRequest& request, const SignerPolicy& policy,
                                 std::chrono::system_clock::time_point now);

// The requesting pod (a PodList listed by its name: at most one item) and the pods
// holding the requested IP (a PodList by status.podIP): the pod must be the one of the
// token (uid), alive, off the host network, of the requesting service account and on the
// token's node, and hold the IP; no other live pod may hold it. `wait` while the pod or
// its IP has not reached the API yet.
Verdict check_pod(const CsrRequest& request, const boost::json::value& pods_by_name,
                  const boost::json::value& pods_by_ip);

// The StatefulSet the pod names as its controller, when DNS SANs are asked for ("" when
// it has none).
std::string controller_statefulset(const boost::json::value& pod);

// DNS SANs: only the pod's own stable names, and only when its hostname and subdomain
// come from the StatefulSet that owns it (the pod's controller, same uid, with
// spec.serviceName equal to the subdomain and the pod's name as hostname). A bare pod
// can set any hostname and subdomain it likes.
Verdict check_dns(const CsrRequest& request, const boost::json::value& pod, const boost::json::value* statefulset,
                  const SignerPolicy& policy);

// The leaf to issue for an approved request.
certs::LeafSpec leaf_spec(const CsrRequest& request);

}  // namespace distls::k8s
