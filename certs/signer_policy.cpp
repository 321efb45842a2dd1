#include "distls/signer_policy.hpp"

#include <algorithm>
#include <set>

#include <boost/json.hpp>

#include "distls/base64.hpp"
#include "distls/csr.hpp"

namespace distls::k8s {

namespace json = boost::json;

namespace {

const json::value* at(const json::value& v, std::initializer_list<std::string_view> keys) {
  const json::value* cur = &v;
  for (auto k : keys) {
    const auto* o = cur->if_object();
    if (!o || !(cur = o->if_contains(k))) return nullptr;
  }
  return cur;
}

std::string str(const json::value& v, std::initializer_list<std::string_view> keys) {
  const auto* s = at(v, keys);
  return s && s->is_string() ? std::string(s->as_string()) : "";
}

Verdict deny(std::string reason, std::string message) { return {false, std::move(reason), std::move(message)}; }

// The usages distls asks for; a certificate for anything else is not ours to give.
const std::set<std::string, std::less<>> kAllowedUsages{"digital signature", "key encipherment", "server auth",
                                                        "client auth"};

}  // namespace

std::variant<CsrRequest, Verdict> examine(const json::value& csr, const SignerPolicy& policy) {
  CsrRequest r;
  r.name = str(csr, {"metadata", "name"});
  if (str(csr, {"spec", "signerName"}) != policy.signer_name)
    return deny("WrongSigner", "signerName is not " + policy.signer_name);

  // spec.username is set by the API server from the authenticated requester.
  const auto user = str(csr, {"spec", "username"});
  constexpr std::string_view prefix = "system:serviceaccount:";
  const auto colon = user.find(':', prefix.size());
  if (!user.starts_with(prefix) || colon == std::string::npos || colon == prefix.size() || colon + 1 == user.size())
    return deny("RequesterNotServiceAccount", "requested by '" + user + "', not by a pod's service account");
  r.ns = user.substr(prefix.size(), colon - prefix.size());
  r.service_account = user.substr(colon + 1);

  const auto* usages = at(csr, {"spec", "usages"});
  std::set<std::string> asked;
  if (usages && usages->is_array())
    for (const auto& u : usages->as_array())
      if (u.is_string()) asked.emplace(u.as_string());
  for (const auto& u : asked)
    if (!kAllowedUsages.contains(u)) return deny("UnsupportedUsage", "usage '" + u + "' is not granted");
  if (!asked.contains("server auth") || !asked.contains("client auth"))
    return deny("UnsupportedUsage", "a distls certificate needs both server auth and client auth");

  const auto pem = base64_decode(str(csr, {"spec", "request"}));
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
  if (const auto* exp = at(csr, {"spec", "expirationSeconds"}); exp && exp->is_int64() && exp->as_int64() > 0)
    r.ttl = std::min(policy.max_ttl, std::chrono::seconds(exp->as_int64()));
  return r;
}

Verdict check_pods(const CsrRequest& r, const json::value& pod_list, const SignerPolicy& policy) {
  const auto* items = at(pod_list, {"items"});
  std::vector<const json::value*> matches;
  if (items && items->is_array())
    for (const auto& pod : items->as_array()) {
      bool has_ip = str(pod, {"status", "podIP"}) == r.ip;
      if (const auto* ips = at(pod, {"status", "podIPs"}); ips && ips->is_array())
        for (const auto& i : ips->as_array()) has_ip |= str(i, {"ip"}) == r.ip;
      if (has_ip && str(pod, {"metadata", "namespace"}) == r.ns) matches.push_back(&pod);
    }
  if (matches.empty()) return deny("NoSuchPod", "no pod in namespace " + r.ns + " has IP " + r.ip);
  // Host-network pods share the node's IP: such an IP names no single pod.
  std::erase_if(matches, [](const json::value* p) {
    const auto* h = at(*p, {"spec", "hostNetwork"});
    return h && h->is_bool() && h->as_bool();
  });
  if (matches.empty()) return deny("HostNetworkPod", "IP " + r.ip + " belongs to host-network pods only");
  if (matches.size() > 1) return deny("AmbiguousPod", std::to_string(matches.size()) + " pods share IP " + r.ip);
  const auto& pod = *matches.front();
  const auto pod_name = r.ns + "/" + str(pod, {"metadata", "name"});
  if (at(pod, {"metadata", "deletionTimestamp"}) && !at(pod, {"metadata", "deletionTimestamp"})->is_null())
    return deny("PodTerminating", "pod " + pod_name + " is being deleted");
  // A native sidecar asks before the app container starts: the pod is still Pending then.
  const auto phase = str(pod, {"status", "phase"});
  if (phase != "Running" && phase != "Pending")
    return deny("PodNotRunning", "pod " + pod_name + " is " + (phase.empty() ? "in no phase" : phase));
  const auto sa = str(pod, {"spec", "serviceAccountName"});
  if (sa != r.service_account)
    return deny("WrongServiceAccount", "pod " + pod_name + " runs as " + (sa.empty() ? "default" : sa) + ", not " +
                                            r.service_account);
  if (!r.dns.empty()) {
    const auto host = str(pod, {"spec", "hostname"});
    const auto sub = str(pod, {"spec", "subdomain"});
    std::set<std::string> own;
    if (!host.empty() && !sub.empty()) {
      const auto base = host + "." + sub + "." + r.ns;
      own = {base, base + ".svc", base + ".svc." + policy.cluster_domain};
    }
    for (const auto& d : r.dns)
      if (!own.contains(d))
        return deny("BadIdentity", "DNS SAN '" + d + "' is not a name of pod " + pod_name);
  }
  return {true, "DistlsPodVerified",
          "pod " + pod_name + " (service account " + r.service_account + ", IP " + r.ip + ") verified by distls signer"};
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
