#include "distls/k8s/csr_source.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "distls/util/base64.hpp"
#include "distls/util/json_pointer.hpp"
#include "distls/x509/csr.hpp"
#include "distls/x509/pem.hpp"

namespace distls::k8s {

namespace asio = boost::asio;
namespace json = boost::json;
namespace http = boost::beast::http;

json::value csr_object(const CsrSourceOptions& o, const std::string& csr_pem) {
  // The API refuses less than ten minutes; a signer may still issue shorter.
  const auto seconds = std::max<std::int64_t>(o.ttl.count(), 600);
  return json::object{
      {"apiVersion", "certificates.k8s.io/v1"},
      {"kind", "CertificateSigningRequest"},
      {"metadata", json::object{{"generateName", o.name_prefix},
                                {"labels", json::object{{"app.kubernetes.io/managed-by", "distls"}}}}},
      {"spec", json::object{{"request", base64_encode(csr_pem)},
                            {"signerName", o.signer_name},
                            {"expirationSeconds", seconds},
                            {"usages", json::array{"digital signature", "key encipherment", "server auth",
                                                   "client auth"}}}}};
}

CsrState csr_state(const json::value& csr) {
  using jsonp::text;
  if (const auto* conds = jsonp::array(csr, "/status/conditions"))
    for (const auto& c : *conds) {
      const auto type = text(c, "/type");
      if (text(c, "/status") == "False") continue;
      const auto why = text(c, "/reason") + ": " + text(c, "/message");
      if (type == "Denied") return {CsrState::Kind::denied, why};
      if (type == "Failed") return {CsrState::Kind::failed, why};
    }
  const auto cert = text(csr, "/status/certificate");
  if (!cert.empty()) {
    auto pem = base64_decode(cert);
    if (!pem) return {CsrState::Kind::failed, "status.certificate is not base64"};
    return {CsrState::Kind::issued, *pem};
  }
  return {CsrState::Kind::pending, ""};
}

CsrSource::CsrSource(Client& client, CsrSourceOptions options, Logger& log)
    : client_(client), o_(std::move(options)), log_(log) {}

boost::asio::awaitable<CsrState> CsrSource::wait_for(const std::string& name, std::string rv) {
  const auto deadline = std::chrono::steady_clock::now() + o_.wait;
  const std::string selector = "fieldSelector=" + url_escape("metadata.name=" + name);
  while (std::chrono::steady_clock::now() < deadline) {
    CsrState state;
    bool gone = false;
    const auto left = std::chrono::duration_cast<std::chrono::seconds>(deadline - std::chrono::steady_clock::now());
    auto end = co_await client_.watch(
        std::string(kCsrPath) + "?watch=true&allowWatchBookmarks=true&" + selector +
            "&resourceVersion=" + url_escape(rv) + "&timeoutSeconds=" + std::to_string(std::max<long>(left.count(), 1)),
        [&](const std::string& type, const json::value& obj) {
          if (const auto v = jsonp::text(obj, "/metadata/resourceVersion"); !v.empty()) rv = v;
          if (type == "ERROR") {  // 410 Gone: our resourceVersion is too old; re-read
            gone = true;
            return false;
          }
          if (type == "DELETED") {
            state = {CsrState::Kind::failed, "Deleted: the CSR was deleted before it was issued"};
            return false;
          }
          state = csr_state(obj);
          return state.kind == CsrState::Kind::pending;
        },
        std::max(left, std::chrono::seconds(1)));
    if (state.kind != CsrState::Kind::pending) co_return state;
    if (!end.error.empty() || gone) {
      if (!end.error.empty())
        log_.warn("csr_watch_interrupted", {{"csr", name}, {"error", end.error}});
      // Re-read the object: it may have moved on while we were not watching.
      auto got = co_await client_.request(http::verb::get, std::string(kCsrPath) + "/" + name);
      if (!got.ok()) {
        if (got.status == 404) co_return CsrState{CsrState::Kind::failed, "NotFound: the CSR disappeared"};
        asio::steady_timer pause(co_await asio::this_coro::executor, std::chrono::seconds(1));
        co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
        continue;
      }
      if (auto s = csr_state(got.body); s.kind != CsrState::Kind::pending) co_return s;
      rv = jsonp::text(got.body, "/metadata/resourceVersion");
    }
  }
  co_return CsrState{CsrState::Kind::pending, ""};
}

boost::asio::awaitable<std::variant<certs::Leaf, std::string>> CsrSource::issue() {
  certs::Leaf leaf;
  std::string csr_pem;
  try {
    leaf.key = pem::generate_ec_p256();
    const auto csr = certs::make_csr(leaf.key.get(), o_.common_name, o_.sans);
    csr_pem = certs::csr_to_pem(csr.get());
  } catch (const std::exception& e) {
    co_return std::string("building the CSR: ") + e.what();
  }
  auto created = co_await client_.request(http::verb::post, kCsrPath, csr_object(o_, csr_pem));
  if (!created.ok()) co_return "creating the CSR: " + created.describe();
  const auto name = jsonp::text(created.body, "/metadata/name");
  const auto rv = jsonp::text(created.body, "/metadata/resourceVersion");
  if (name.empty()) co_return std::string("creating the CSR: the answer has no metadata.name");
  log_.info("csr_created", {{"csr", name}, {"signer", o_.signer_name}, {"expiration_s", o_.ttl.count()}});

  auto state = csr_state(created.body);
  if (state.kind == CsrState::Kind::pending) state = co_await wait_for(name, rv);
  switch (state.kind) {
    case CsrState::Kind::pending:
      co_return "CSR " + name + " was not issued within " + std::to_string(o_.wait.count()) + "s (is the signer " +
          o_.signer_name + " running?)";
    case CsrState::Kind::denied:
      co_return "CSR " + name + " denied: " + state.detail;
    case CsrState::Kind::failed:
      co_return "CSR " + name + " failed: " + state.detail;
    case CsrState::Kind::issued:
      break;
  }
  try {
    leaf.chain = pem::read_certs(state.detail, "CSR " + name + " status.certificate");
  } catch (const std::exception& e) {
    co_return std::string(e.what());
  }
  if (EVP_PKEY_eq(X509_get0_pubkey(leaf.chain.front().get()), leaf.key.get()) != 1)
    co_return "CSR " + name + ": the issued certificate is not for our key";
  log_.info("csr_issued", {{"csr", name}});
  co_return leaf;
}

}  // namespace distls::k8s
