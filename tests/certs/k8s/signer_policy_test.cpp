// What `distls signer` approves and denies, one row per rule.
#include "distls/k8s/signer_policy.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "tests/certs/cert_test_support.hpp"
#include "distls/k8s/api_time.hpp"
#include "distls/util/base64.hpp"
#include "distls/x509/csr.hpp"
#include "distls/k8s/csr_source.hpp"

namespace distls::k8s {
namespace {

namespace json = boost::json;

SignerPolicy policy(std::set<std::string> namespaces = {}) {
  SignerPolicy p;
  p.signer_name = "distls.io/erlang-dist";
  p.max_ttl = std::chrono::hours(24);
  p.trust_domain = "cluster.local";
  p.namespaces = std::move(namespaces);
  return p;
}
const SignerPolicy kPolicy = policy();
const std::string kSpiffe = "spiffe://cluster.local/ns/shop/sa/app";
const std::string kUid = "0b8a6f0e-0000-4000-8000-000000000001";
const auto kNow = std::chrono::system_clock::now();

// What the API server puts in spec.extra for a token bound to pod app-0 on node-1.
json::object bound(std::string pod = "app-0", std::string uid = kUid, std::string node = "node-1") {
  json::object extra{{kExtraPodName, json::array{json::value(pod)}}, {kExtraPodUid, json::array{json::value(uid)}}};
  if (!node.empty()) extra[kExtraNodeName] = json::array{json::value(node)};
  return extra;
}

json::value csr_for(const certs::Sans& sans, std::string username = "system:serviceaccount:shop:app",
                    json::array usages = {"digital signature", "key encipherment", "server auth", "client auth"},
                    std::int64_t expiration = 3600, std::optional<json::object> extra = bound(),
                    std::chrono::system_clock::time_point created = kNow - std::chrono::seconds(5)) {
  auto key = pem::generate_ec_p256();
  auto req = certs::make_csr(key.get(), "app@10.1.2.3", sans);
  CsrSourceOptions o;
  o.signer_name = kPolicy.signer_name;
  o.ttl = std::chrono::seconds(expiration);
  auto obj = csr_object(o, certs::csr_to_pem(req.get()));
  auto& meta = obj.as_object()["metadata"].as_object();
  meta["name"] = "distls-app-x1";
  meta["creationTimestamp"] = api_time(created);
  auto& spec = obj.as_object()["spec"].as_object();
  spec["username"] = username;
  spec["usages"] = std::move(usages);
  if (extra) spec["extra"] = std::move(*extra);
  return obj;
}

certs::Sans pod_sans(std::vector<std::string> uris = {kSpiffe}, std::string ip = "10.1.2.3") {
  certs::Sans s;
  s.ips = {std::move(ip)};
  s.uris = std::move(uris);
  return s;
}

struct PodShape {
  std::string name = "app-0";
  std::string uid = kUid;
  std::string ip = "10.1.2.3";
  std::string sa = "app";
  std::string phase = "Running";
  std::string ns = "shop";
  std::string node = "node-1";
  std::string owner_uid = "sts-uid";  // "" for a bare pod
};

json::value pod(const PodShape& p = {}) {
  json::object meta{{"name", p.name}, {"namespace", p.ns}, {"uid", p.uid}};
  if (!p.owner_uid.empty())
    meta["ownerReferences"] = json::array{json::object{{"apiVersion", "apps/v1"}, {"kind", "StatefulSet"},
                                                       {"name", "app"}, {"uid", p.owner_uid}, {"controller", true}}};
  json::object status{{"phase", p.phase}};
  if (!p.ip.empty()) {
    status["podIP"] = p.ip;
    status["podIPs"] = json::array{json::object{{"ip", p.ip}}};
  }
  return json::object{{"metadata", std::move(meta)},
                      {"spec", json::object{{"serviceAccountName", p.sa}, {"hostname", p.name}, {"subdomain", "app"},
                                            {"nodeName", p.node}}},
                      {"status", std::move(status)}};
}

json::value pods(std::initializer_list<json::value> items) {
  return json::object{{"kind", "PodList"}, {"items", json::array(items.begin(), items.end())}};
}

json::value statefulset(std::string service = "app", std::string uid = "sts-uid") {
  return json::object{{"metadata", json::object{{"name", "app"}, {"namespace", "shop"}, {"uid", uid}}},
                      {"spec", json::object{{"serviceName", service}}}};
}

// The verdict for a CSR, as the signer reaches it: "approve", "wait:Reason" or the deny reason.
std::string verdict(const json::value& csr, const json::value& by_name = pods({pod()}),
                    std::optional<json::value> by_ip = std::nullopt, const json::value* sts = nullptr,
                    const SignerPolicy& p = kPolicy) {
  auto e = examine(csr, p);
  if (auto* v = std::get_if<Verdict>(&e)) return v->reason;
  const auto& r = std::get<CsrRequest>(e);
  if (auto v = abandoned(r, p, kNow)) return v->reason;
  auto v = check_pod(r, by_name, by_ip.value_or(by_name));
  if (v.approve() && !r.dns.empty()) v = check_dns(r, by_name.at("items").at(0), sts, p);
  if (v.kind == Verdict::Kind::wait) return "wait:" + v.reason;
  return v.approve() ? "approve" : v.reason;
}

TEST(SignerPolicy, Table) {
  auto host_net = pod();
  host_net.as_object()["spec"].as_object()["hostNetwork"] = true;
  auto deleting = pod();
  deleting.as_object()["metadata"].as_object()["deletionTimestamp"] = "2026-11-23T10:00:00Z";
  certs::Sans with_dns = pod_sans();
  with_dns.dns = {"app-0.app.shop.svc.cluster.local"};
  certs::Sans wrong_dns = pod_sans();
  wrong_dns.dns = {"app-1.app.shop.svc.cluster.local"};
  certs::Sans two_ips = pod_sans();
  two_ips.ips.push_back("10.1.2.4");
  certs::Sans no_ip;
  no_ip.dns = {"app-0.app.shop.svc.cluster.local"};
  const auto sts = statefulset();
  const auto other_service = statefulset("db");
  const auto other_sts = statefulset("app", "another-uid");
  const char* sa = "system:serviceaccount:shop:app";
  const json::array usages{"digital signature", "key encipherment", "server auth", "client auth"};

  struct Row {
    const char* what;
    json::value csr;
    json::value by_name;
    std::optional<json::value> by_ip;
    const json::value* sts;
    const char* want;
  };
  const std::vector<Row> rows{
      {"the pod's own identity", csr_for(pod_sans()), pods({pod()}), {}, nullptr, "approve"},
      {"no URI SAN is fine", csr_for(pod_sans({})), pods({pod()}), {}, nullptr, "approve"},
      {"a pending pod (native sidecar before the app starts)", csr_for(pod_sans()),
       pods({pod({.phase = "Pending"})}), {}, nullptr, "approve"},
      {"its own DNS name, vouched for by its StatefulSet", csr_for(with_dns), pods({pod()}), {}, &sts, "approve"},
      {"a finished pod that kept the IP does not make it ambiguous", csr_for(pod_sans()), pods({pod()}),
       pods({pod({.name = "job-x", .uid = "u2", .phase = "Succeeded"}), pod(),
             pod({.name = "evicted", .uid = "u3", .phase = "Failed"})}), nullptr, "approve"},
      {"a user, not a service account", csr_for(pod_sans(), "alice"), pods({pod()}), {}, nullptr,
       "RequesterNotServiceAccount"},
      {"a node", csr_for(pod_sans(), "system:node:worker-1"), pods({pod()}), {}, nullptr, "RequesterNotServiceAccount"},
      {"a legacy token bound to no pod", csr_for(pod_sans(), sa, usages, 3600, std::nullopt), pods({pod()}), {},
       nullptr, "NotPodBound"},
      {"a sibling replica asks for app-1's IP", csr_for(pod_sans({kSpiffe}, "10.1.2.4")), pods({pod()}),
       pods({pod({.name = "app-1", .uid = "u1", .ip = "10.1.2.4"})}), nullptr, "WrongIP"},
      {"the token's pod was replaced by a namesake", csr_for(pod_sans()), pods({pod({.uid = "new-uid"})}), {},
       nullptr, "PodReplaced"},
      {"the pod is not in the API yet", csr_for(pod_sans()), pods({}), {}, nullptr, "wait:NoSuchPod"},
      {"the pod's IP is not in the API yet", csr_for(pod_sans()), pods({pod({.ip = "", .phase = "Pending"})}), {},
       nullptr, "wait:PodIPPending"},
      {"a pod of another namespace", csr_for(pod_sans()), pods({pod({.ns = "other"})}), {}, nullptr,
       "wait:NoSuchPod"},
      {"another service account's pod", csr_for(pod_sans()), pods({pod({.sa = "db"})}), {}, nullptr,
       "WrongServiceAccount"},
      {"a finished pod", csr_for(pod_sans()), pods({pod({.phase = "Succeeded"})}), {}, nullptr, "PodNotRunning"},
      {"a terminating pod", csr_for(pod_sans()), pods({deleting}), {}, nullptr, "PodTerminating"},
      {"a host-network pod", csr_for(pod_sans()), pods({host_net}), {}, nullptr, "HostNetworkPod"},
      {"another live pod with the IP", csr_for(pod_sans()), pods({pod()}),
       pods({pod(), pod({.name = "other", .uid = "u9"})}), nullptr, "AmbiguousPod"},
      {"the token was issued on another node", csr_for(pod_sans()), pods({pod({.node = "node-2"})}), {}, nullptr,
       "WrongNode"},
      {"someone else's SPIFFE ID", csr_for(pod_sans({"spiffe://cluster.local/ns/shop/sa/admin"})), pods({pod()}), {},
       nullptr, "BadIdentity"},
      {"a bare pod that copied a StatefulSet pod's hostname", csr_for(with_dns), pods({pod({.owner_uid = ""})}), {},
       nullptr, "BadIdentity"},
      {"a StatefulSet whose serviceName is not the subdomain", csr_for(with_dns), pods({pod()}), {}, &other_service,
       "BadIdentity"},
      {"a StatefulSet that does not own the pod", csr_for(with_dns), pods({pod()}), {}, &other_sts, "BadIdentity"},
      {"another pod's DNS name", csr_for(wrong_dns), pods({pod()}), {}, &sts, "BadIdentity"},
      {"two IPs", csr_for(two_ips), pods({pod()}), {}, nullptr, "BadIdentity"},
      {"no IP", csr_for(no_ip), pods({pod()}), {}, nullptr, "BadIdentity"},
      {"code signing usage", csr_for(pod_sans(), sa, {"digital signature", "code signing", "server auth", "client auth"}),
       pods({pod()}), {}, nullptr, "UnsupportedUsage"},
      {"server auth only", csr_for(pod_sans(), sa, {"digital signature", "server auth"}), pods({pod()}), {}, nullptr,
       "UnsupportedUsage"},
      {"pending longer than any requester waits", csr_for(pod_sans(), sa, usages, 3600, bound(),
                                                          kNow - std::chrono::minutes(10)),
       pods({pod()}), {}, nullptr, "Abandoned"},
  };
  for (const auto& r : rows) EXPECT_EQ(verdict(r.csr, r.by_name, r.by_ip, r.sts), r.want) << r.what;
}

TEST(SignerPolicy, NamespacesOutsideTheAllowListAreDenied) {
  EXPECT_EQ(verdict(csr_for(pod_sans()), pods({pod()}), std::nullopt, nullptr, policy({"shop", "web"})), "approve");
  EXPECT_EQ(verdict(csr_for(pod_sans()), pods({pod()}), std::nullopt, nullptr, policy({"web"})), "NamespaceNotServed");
}

TEST(SignerPolicy, ExtraWithSeveralValuesIsNotABinding) {
  auto extra = bound();
  extra[kExtraPodName] = json::array{"app-0", "app-1"};
  EXPECT_EQ(verdict(csr_for(pod_sans(), "system:serviceaccount:shop:app",
                            {"digital signature", "key encipherment", "server auth", "client auth"}, 3600, extra)),
            "NotPodBound");
}

TEST(SignerPolicy, RejectsGarbageRequests) {
  auto csr = csr_for(pod_sans());
  csr.as_object()["spec"].as_object()["request"] = "not base64!";
  EXPECT_EQ(verdict(csr), "BadRequest");
  csr.as_object()["spec"].as_object()["request"] = base64_encode("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n");
  EXPECT_EQ(verdict(csr), "BadRequest");
  csr.as_object()["spec"].as_object()["signerName"] = "kubernetes.io/kube-apiserver-client";
  EXPECT_EQ(verdict(csr), "WrongSigner");
  EXPECT_EQ(verdict(json::object{}), "WrongSigner");
}

TEST(SignerPolicy, CapsTheLifetimeAndGrantsExactlyTheRequest) {
  auto e = examine(csr_for(pod_sans(), "system:serviceaccount:shop:app",
                           {"digital signature", "key encipherment", "server auth", "client auth"}, 7 * 24 * 3600),
                   kPolicy);
  const auto& r = std::get<CsrRequest>(e);
  EXPECT_EQ(r.ttl, std::chrono::hours(24));
  EXPECT_EQ(r.ns, "shop");
  EXPECT_EQ(r.service_account, "app");
  const auto spec = leaf_spec(r);
  EXPECT_EQ(spec.sans.ips, (std::vector<std::string>{"10.1.2.3"}));
  EXPECT_EQ(spec.sans.uris, (std::vector<std::string>{kSpiffe}));
  EXPECT_EQ(spec.common_name, "app@10.1.2.3");
}

TEST(CsrSource, StateOfObservedCsrs) {
  json::value pending = json::object{{"status", json::object{}}};
  EXPECT_EQ(csr_state(pending).kind, CsrState::Kind::pending);
  json::value denied = json::object{{"status", json::object{{"conditions", json::array{json::object{
                                                              {"type", "Denied"}, {"status", "True"},
                                                              {"reason", "NoSuchPod"}, {"message", "gone"}}}}}}};
  EXPECT_EQ(csr_state(denied).kind, CsrState::Kind::denied);
  EXPECT_EQ(csr_state(denied).detail, "NoSuchPod: gone");
  json::value issued = json::object{{"status", json::object{{"certificate", base64_encode("PEM")}}}};
  EXPECT_EQ(csr_state(issued).kind, CsrState::Kind::issued);
  EXPECT_EQ(csr_state(issued).detail, "PEM");
  json::value approved = json::object{{"status", json::object{{"conditions", json::array{json::object{
                                                                {"type", "Approved"}, {"status", "True"}}}}}}};
  EXPECT_EQ(csr_state(approved).kind, CsrState::Kind::pending);
}

TEST(CsrSource, ObjectAsTheApiWantsIt) {
  CsrSourceOptions o;
  o.signer_name = "clusterissuers.cert-manager.io/distls";
  o.ttl = std::chrono::seconds(60);
  o.name_prefix = "distls-app-";
  const auto obj = csr_object(o, "PEM");
  EXPECT_EQ(obj.at("spec").at("signerName").as_string(), "clusterissuers.cert-manager.io/distls");
  EXPECT_EQ(obj.at("spec").at("expirationSeconds").as_int64(), 600);  // the API's minimum
  EXPECT_EQ(obj.at("spec").at("request").as_string(), base64_encode("PEM"));
  EXPECT_EQ(obj.at("metadata").at("generateName").as_string(), "distls-app-");
}

}  // namespace
}  // namespace distls::k8s
