// What `distls signer` approves and denies, one row per rule.
#include "distls/signer_policy.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "cert_test_support.hpp"
#include "distls/base64.hpp"
#include "distls/csr.hpp"
#include "distls/k8s_csr_source.hpp"

namespace distls::k8s {
namespace {

namespace json = boost::json;

const SignerPolicy kPolicy{"distls.io/erlang-dist", std::chrono::hours(24), "cluster.local", "cluster.local"};
const std::string kSpiffe = "spiffe://cluster.local/ns/shop/sa/app";

json::value csr_for(const certs::Sans& sans, std::string username = "system:serviceaccount:shop:app",
                    json::array usages = {"digital signature", "key encipherment", "server auth", "client auth"},
                    std::int64_t expiration = 3600) {
  auto key = pem::generate_ec_p256();
  auto req = certs::make_csr(key.get(), "app@10.1.2.3", sans);
  CsrSourceOptions o;
  o.signer_name = kPolicy.signer_name;
  o.ttl = std::chrono::seconds(expiration);
  auto obj = csr_object(o, certs::csr_to_pem(req.get()));
  obj.as_object()["metadata"].as_object()["name"] = "distls-app-x1";
  auto& spec = obj.as_object()["spec"].as_object();
  spec["username"] = username;
  spec["usages"] = std::move(usages);
  return obj;
}

certs::Sans pod_sans(std::vector<std::string> uris = {kSpiffe}) {
  certs::Sans s;
  s.ips = {"10.1.2.3"};
  s.uris = std::move(uris);
  return s;
}

json::value pod(std::string ip = "10.1.2.3", std::string sa = "app", std::string phase = "Running",
                std::string ns = "shop") {
  return json::object{{"metadata", json::object{{"name", "app-0"}, {"namespace", ns}}},
                      {"spec", json::object{{"serviceAccountName", sa}, {"hostname", "app-0"}, {"subdomain", "app"}}},
                      {"status", json::object{{"phase", phase}, {"podIP", ip},
                                              {"podIPs", json::array{json::object{{"ip", ip}}}}}}};
}

json::value pods(std::initializer_list<json::value> items) {
  return json::object{{"kind", "PodList"}, {"items", json::array(items.begin(), items.end())}};
}

// The verdict for a CSR against a pod list: "approve" or the deny reason.
std::string verdict(const json::value& csr, const json::value& pod_list = pods({pod()})) {
  auto e = examine(csr, kPolicy);
  if (auto* v = std::get_if<Verdict>(&e)) return v->reason;
  auto v = check_pods(std::get<CsrRequest>(e), pod_list, kPolicy);
  return v.approve ? "approve" : v.reason;
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

  struct Row {
    const char* what;
    json::value csr;
    json::value pods;
    const char* want;
  };
  const std::vector<Row> rows{
      {"the pod's own identity", csr_for(pod_sans()), pods({pod()}), "approve"},
      {"no URI SAN is fine", csr_for(pod_sans({})), pods({pod()}), "approve"},
      {"a pending pod (native sidecar before the app starts)", csr_for(pod_sans()), pods({pod("10.1.2.3", "app", "Pending")}), "approve"},
      {"its own DNS name", csr_for(with_dns), pods({pod()}), "approve"},
      {"a user, not a service account", csr_for(pod_sans(), "alice"), pods({pod()}), "RequesterNotServiceAccount"},
      {"a node", csr_for(pod_sans(), "system:node:worker-1"), pods({pod()}), "RequesterNotServiceAccount"},
      {"no such pod", csr_for(pod_sans()), pods({}), "NoSuchPod"},
      {"a pod of another namespace", csr_for(pod_sans()), pods({pod("10.1.2.3", "app", "Running", "other")}), "NoSuchPod"},
      {"another service account's pod", csr_for(pod_sans()), pods({pod("10.1.2.3", "db")}), "WrongServiceAccount"},
      {"a finished pod", csr_for(pod_sans()), pods({pod("10.1.2.3", "app", "Succeeded")}), "PodNotRunning"},
      {"a terminating pod", csr_for(pod_sans()), pods({deleting}), "PodTerminating"},
      {"a host-network IP", csr_for(pod_sans()), pods({host_net}), "HostNetworkPod"},
      {"two pods with the IP", csr_for(pod_sans()), pods({pod(), pod()}), "AmbiguousPod"},
      {"someone else's SPIFFE ID", csr_for(pod_sans({"spiffe://cluster.local/ns/shop/sa/admin"})), pods({pod()}), "BadIdentity"},
      {"another pod's DNS name", csr_for(wrong_dns), pods({pod()}), "BadIdentity"},
      {"two IPs", csr_for(two_ips), pods({pod()}), "BadIdentity"},
      {"no IP", csr_for(no_ip), pods({pod()}), "BadIdentity"},
      {"code signing usage", csr_for(pod_sans(), "system:serviceaccount:shop:app", {"digital signature", "code signing", "server auth", "client auth"}), pods({pod()}), "UnsupportedUsage"},
      {"server auth only", csr_for(pod_sans(), "system:serviceaccount:shop:app", {"digital signature", "server auth"}), pods({pod()}), "UnsupportedUsage"},
  };
  for (const auto& r : rows) EXPECT_EQ(verdict(r.csr, r.pods), r.want) << r.what;
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
