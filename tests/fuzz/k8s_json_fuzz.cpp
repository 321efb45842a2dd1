// Kubernetes API objects as distls and `distls signer` decode them: a
// CertificateSigningRequest (what the signer examines, and the state the k8s-csr source
// watches for), a PodList (the signer's pod checks) and Status errors. Input that is not
// JSON is skipped: Boost.JSON's own parser is not what is under test.
//
// A JSON array of two is also read as [CSR, PodList], so that a CSR that passes
// examine() (the seeds hold real ones) goes on to check_pod() and check_dns() against its pods.
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "distls/util/base64.hpp"
#include "distls/k8s/client.hpp"
#include "distls/k8s/csr_source.hpp"
#include "distls/x509/ossl.hpp"
#include "distls/x509/pem.hpp"
#include "distls/k8s/signer_policy.hpp"

namespace {

using namespace distls;
namespace json = boost::json;

void require(bool ok) {
  if (!ok) std::abort();
}

k8s::SignerPolicy policy() {
  k8s::SignerPolicy p;
  p.signer_name = "distls.io/erlang-dist";
  p.trust_domain = "cluster.local";
  return p;
}

// A request as examine() builds one, for pod lists that come without a CSR.
k8s::CsrRequest sample_request() {
  k8s::CsrRequest r;
  r.name = "distls-abcde";
  r.ns = "shop";
  r.service_account = "app";
  r.ip = "10.0.0.5";
  r.dns = {"app-0.app.shop.svc.cluster.local"};
  r.pod_name = "app-0";
  r.pod_uid = "0b1c2d3e-0000-4000-8000-000000000001";
  r.common_name = "app@10.0.0.5";
  r.ttl = std::chrono::hours(1);
  return r;
}

void check_verdict(const k8s::Verdict& v) {
  require(!v.reason.empty() && !v.message.empty());
}

// The same PodList stands for the pod listed by name and for the pods holding the IP.
void check_pods(const k8s::CsrRequest& r, const json::value& pods) {
  const auto v = k8s::check_pod(r, pods, pods);
  if (v.kind != k8s::Verdict::Kind::wait) check_verdict(v);
  if (!v.approve()) return;
  const auto spec = k8s::leaf_spec(r);
  require(spec.sans.ips.size() == 1 && spec.sans.ips.front() == r.ip);
  const auto& pod = pods.at("items").at(0);
  k8s::controller_statefulset(pod);
  check_verdict(k8s::check_dns(r, pod, nullptr, policy()));
}

// examine(), and the pod checks with what it granted.
void check_csr(const json::value& csr, const json::value* pods) {
  const auto examined = k8s::examine(csr, policy());
  if (const auto* v = std::get_if<k8s::Verdict>(&examined)) {
    require(!v->approve());
    check_verdict(*v);
    return;
  }
  const auto& r = std::get<k8s::CsrRequest>(examined);
  require(!r.ns.empty() && !r.service_account.empty() && !r.ip.empty());
  require(r.ttl.count() > 0 && r.ttl <= policy().max_ttl);
  if (pods != nullptr) check_pods(r, *pods);
}

// What the k8s-csr source does with a CSR it watches.
void check_state(const json::value& csr) {
  const auto state = k8s::csr_state(csr);
  if (state.kind != k8s::CsrState::Kind::issued) return;
  try {
    pem::read_certs(state.detail, "status.certificate");
  } catch (const ossl::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  boost::system::error_code ec;
  const json::value v = json::parse(std::string_view(reinterpret_cast<const char*>(data), size), ec);
  if (ec) return 0;

  check_state(v);
  check_csr(v, nullptr);
  check_pods(sample_request(), v);
  if (const auto* pair = v.if_array(); pair && pair->size() == 2) {
    check_csr((*pair)[0], &(*pair)[1]);
    check_state((*pair)[0]);
  }

  // A Status error as the API client turns it into a log line.
  k8s::Result result;
  result.status = static_cast<int>(size % 600);
  result.body = v;
  result.describe();
  result.reason();
  return 0;
}
