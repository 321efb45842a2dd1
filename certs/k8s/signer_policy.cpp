#include "distls/k8s/signer_policy.hpp"

#include <algorithm>

#include <boost/json.hpp>

#include "distls/k8s/api_time.hpp"
#include "distls/util/base64.hpp"
#include "distls/x509/csr.hpp"
#include "distls/util/json_pointer.hpp"

namespace distls::k8s {

namespace json = boost::json;
using jsonp::text;

namespace {

Verdict deny(std::string reason, std::string message) {
  return {Verdict::Kind::deny, std::move(reason), std::move(message)};
}
Verdict wait(std::string reason, std::string message) {
  return {Verdict::Kind::wait, std::move(reason), std::move(message)};
}

// The usages distls asks for; a certificate for anything else is not ours to give.
const std::set<std::string, std::less<>> kAllowedUsages{"digital signature", "key encipherment", "server auth",
                                                        "client auth"};

// The one value of a spec.extra key ("" when absent, several, or not strings).
std::string extra(const json::value& csr, const char* key) {
  const auto* values = jsonp::array(csr, "/spec/extra" + jsonp::token(key));
  return values && values->size() == 1 ? text(values->front(), "") : "";
}

bool holds_ip(const json::value& pod, const std::string& ip) {
  if (text(pod, "/status/podIP") == ip) return true;
  if (const auto* ips = jsonp::array(pod, "/status/podIPs"))
    for (const auto& i : *ips)
      if (text(i, "/ip") == ip) return true;
  return false;
}

bool finished(const json::value& pod) {
  const auto phase = text(pod, "/status/phase");
  return phase == "Succeeded" || phase == "Failed";
}

bool terminating(const json::value& pod) {
  const auto* d = jsonp::find(pod, "/metadata/deletionTimestamp");
  return d && !d->is_null();
}

}  // namespace

std::variant<CsrRequest, Verdict> examine(const json::value& csr, const SignerPolicy& policy) {
  CsrRequest r;
  r.name = text(csr, "/metadata/name");
  if (text(csr, "/spec/signerName") != policy.signer_name)
    return deny("WrongSigner", "signerName is not " + policy.signer_name);

  // spec.username and spec.extra are set by the API server from the authenticated requester.
  const auto user = text(csr, "/spec/username");
  constexpr std::string_view prefix = "system:serviceaccount:";
  const auto colon = user.find(':', prefix.size());
  if (!user.starts_with(prefix) || colon == std::string::npos || colon == prefix.size() || colon + 1 == user.size())
    return deny("RequesterNotServiceAccount", "requested by '" + user + "', not by a pod's service account");
  r.ns = user.substr(prefix.size(), colon - prefix.size());
  r.service_account = user.substr(colon + 1);
  if (!policy.namespaces.empty() && !policy.namespaces.contains(r.ns))
    return deny("NamespaceNotServed", "namespace " + r.ns + " is not in this signer's --namespaces");
  r.pod_name = extra(csr, kExtraPodName);
  r.pod_uid = extra(csr, kExtraPodUid);
  r.node_name = extra(csr, kExtraNodeName);
  if (r.pod_name.empty() || r.pod_uid.empty())
    return deny("NotPodBound",
               "requested with a token that is bound to no pod (spec.extra has no " + std::string(kExtraPodName) +
                   "/pod-uid: a legacy service-account token Secret?); certificates are issued only to the pod "
                   "whose own projected token asks");
  if (auto created = parse_api_time(text(csr, "/metadata/creationTimestamp"))) r.created = *created;

  std::set<std::string> asked;
  if (const auto* usages = jsonp::array(csr, "/spec/usages"))
    for (const auto& u : *usages)
      if (u.is_string()) asked.emplace(u.as_string());
  for (const auto& u : asked)
    if (!kAllowedUsages.contains(u)) return deny("UnsupportedUsage", "usage '" + u + "' is not granted");
  if (!asked.contains("server auth") || !asked.contains("client auth"))
    return deny("UnsupportedUsage", "a distls certificate needs both server auth and client auth");

  const auto pem = base64_decode(text(csr, "/spec/request"));
  if (!pem) return deny("BadRequest", "spec.request is not base64");
  r.csr_pem = *pem;
  certs::CsrInfo info;
  try {
    const auto req = certs::read_csr(*pem, "spec.request");
    info = certs::inspect_csr(req.get());
  } catch (const std::exception& e) {
    return deny("BadRequest", e.what());
  }
  if (!info.other_sans.empty()) return deny("UnsupportedSAN", "SAN '" + info.other_sans.front() + "' is not granted");
  if (info.sans.ips.size() != 1)
    return deny("BadIdentity", "exactly one IP SAN (the pod's IP) is required, got " + std::to_string(info.sans.ips.size()));
  r.ip = info.sans.ips.front();
  r.dns = info.sans.dns;
  r.uris = info.sans.uris;
  r.common_name = info.common_name.empty() ? r.ip : info.common_name;
  const std::string spiffe = "spiffe://" + policy.trust_domain + "/ns/" + r.ns + "/sa/" + r.service_account;
  for (const auto& u : r.uris)
    if (policy.trust_domain.empty() || u != spiffe)
      return deny("BadIdentity", "URI SAN '" + u + "' is not " +
                                     (policy.trust_domain.empty() ? std::string("allowed (no trust domain)") : spiffe));

  r.ttl = policy.max_ttl;
  if (auto exp = jsonp::integer(csr, "/spec/expirationSeconds"); exp && *exp > 0)
    r.ttl = std::min(policy.max_ttl, std::chrono::seconds(*exp));
  return r;
}

std::optional<Verdict> abandoned(const CsrRequest& r, const SignerPolicy& policy,
                                 std::chrono::system_clock::time_point now) {
  if (!r.created || now - *r.created <= policy.max_pending_age) return std::nullopt;
  const auto age = std::chrono::duration_cast<std::chrono::seconds>(now - *r.created).count();
  return deny("Abandoned", "pending for " + std::to_string(age) + "s, longer than a requester waits (" +
                               std::to_string(policy.max_pending_age.count()) +
                               "s): its key is not held any more; the pod asks again");
}

Verdict check_pod(const CsrRequest& r, const json::value& pods_by_name, const json::value& pods_by_ip) {
  const json::value* pod = nullptr;
  if (const auto* items = jsonp::array(pods_by_name, "/items"))
    for (const auto& p : *items)
      if (text(p, "/metadata/name") == r.pod_name && text(p, "/metadata/namespace") == r.ns) pod = &p;
  const auto pod_id = r.ns + "/" + r.pod_name;
  // The token names the pod, so it existed when the token was issued; not in the API yet
  // (or any more) is for the bounded wait to settle.
  if (!pod) return wait("NoSuchPod", "pod " + pod_id + " of the requester's token is not in the API");
  if (text(*pod, "/metadata/uid") != r.pod_uid)
    return deny("PodReplaced", "pod " + pod_id + " is not the one the token was issued to (uid " +
                                   text(*pod, "/metadata/uid") + ", token's " + r.pod_uid + ")");
  if (terminating(*pod)) return deny("PodTerminating", "pod " + pod_id + " is being deleted");
  // A native sidecar asks before the app container starts: the pod is still Pending then.
  if (finished(*pod)) return deny("PodNotRunning", "pod " + pod_id + " is " + text(*pod, "/status/phase"));
  // Host-network pods share the node's IP: such an IP names no single pod.
  if (jsonp::flag(*pod, "/spec/hostNetwork"))
    return deny("HostNetworkPod", "pod " + pod_id + " is on the host network: its IP is the node's");
  const auto sa = text(*pod, "/spec/serviceAccountName");
  if (sa != r.service_account)
    return deny("WrongServiceAccount", "pod " + pod_id + " runs as " + (sa.empty() ? "default" : sa) + ", not " +
                                            r.service_account);
  if (!r.node_name.empty() && text(*pod, "/spec/nodeName") != r.node_name)
    return deny("WrongNode", "pod " + pod_id + " is on node " + text(*pod, "/spec/nodeName") +
                                 ", the token was issued on " + r.node_name);
  if (!holds_ip(*pod, r.ip)) {
    // The kubelet hands the sidecar its IP (downward API) before the API shows it.
    if (text(*pod, "/status/podIP").empty())
      return wait("PodIPPending", "pod " + pod_id + " has no IP in the API yet");
    return deny("WrongIP", "pod " + pod_id + " has IP " + text(*pod, "/status/podIP") + ", not " + r.ip);
  }
  // Pods that finished keep their IP in the API while the network hands it to a new pod:
  // they hold nothing. Any other live pod with this IP would make it ambiguous.
  if (const auto* items = jsonp::array(pods_by_ip, "/items"))
    for (const auto& other : *items)
      if (text(other, "/metadata/uid") != r.pod_uid && holds_ip(other, r.ip) && !finished(other) &&
          !jsonp::flag(other, "/spec/hostNetwork"))
        return deny("AmbiguousPod", "pod " + text(other, "/metadata/namespace") + "/" + text(other, "/metadata/name") +
                                        " holds IP " + r.ip + " too");
  return {Verdict::Kind::approve, "DistlsPodVerified",
          "pod " + pod_id + " (uid " + r.pod_uid + ", service account " + r.service_account + ", IP " + r.ip +
              ") verified by distls signer"};
}

std::string controller_statefulset(const json::value& pod) {
  if (const auto* owners = jsonp::array(pod, "/metadata/ownerReferences"))
    for (const auto& o : *owners)
      if (jsonp::flag(o, "/controller") && text(o, "/kind") == "StatefulSet" &&
          text(o, "/apiVersion").starts_with("apps/"))
        return text(o, "/name");
  return "";
}

Verdict check_dns(const CsrRequest& r, const json::value& pod, const json::value* sts, const SignerPolicy& policy) {
  const auto pod_id = r.ns + "/" + r.pod_name;
  const auto host = text(pod, "/spec/hostname");
  const auto sub = text(pod, "/spec/subdomain");
  if (!sts) return deny("BadIdentity", "DNS SANs are issued to StatefulSet pods only; pod " + pod_id + " has no StatefulSet");
  std::string owner_uid;
  if (const auto* owners = jsonp::array(pod, "/metadata/ownerReferences"))
    for (const auto& o : *owners)
      if (jsonp::flag(o, "/controller") && text(o, "/kind") == "StatefulSet") owner_uid = text(o, "/uid");
  if (owner_uid.empty() || text(*sts, "/metadata/uid") != owner_uid)
    return deny("BadIdentity", "StatefulSet " + r.ns + "/" + text(*sts, "/metadata/name") + " does not own pod " + pod_id);
  const auto service = text(*sts, "/spec/serviceName");
  if (service.empty() || sub != service || host != r.pod_name)
    return deny("BadIdentity", "pod " + pod_id + " has hostname '" + host + "' and subdomain '" + sub +
                                   "', not its name and its StatefulSet's serviceName '" + service + "'");
  const auto base = host + "." + sub + "." + r.ns;
  const std::set<std::string> own{base, base + ".svc", base + ".svc." + policy.cluster_domain};
  for (const auto& d : r.dns)
    if (!own.contains(d)) return deny("BadIdentity", "DNS SAN '" + d + "' is not a name of pod " + pod_id);
  return {Verdict::Kind::approve, "DistlsPodVerified", "pod " + pod_id + " and its DNS names verified by distls signer"};
}

certs::LeafSpec leaf_spec(const CsrRequest& r) {
  certs::LeafSpec spec;
  spec.common_name = r.common_name;
  spec.sans.ips = {r.ip};
  spec.sans.dns = r.dns;
  spec.sans.uris = r.uris;
  spec.ttl = r.ttl;
  return spec;
}

}  // namespace distls::k8s
