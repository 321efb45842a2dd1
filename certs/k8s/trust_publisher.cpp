#include "distls/k8s/trust_publisher.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "distls/util/json_pointer.hpp"
#include "distls/x509/pem.hpp"

namespace distls::k8s {

namespace asio = boost::asio;
namespace json = boost::json;
namespace http = boost::beast::http;

TrustPublisher::TrustPublisher(Client& client, TrustPublisherOptions o, Logger& log, Metrics& metrics,
                               std::function<bool()> may_write)
    : client_(client), o_(std::move(o)), log_(log), metrics_(metrics), may_write_(std::move(may_write)) {
  metrics_.help("distls_signer_trust_published_total", "Trust bundle ConfigMaps written, by namespace and result");
}

asio::awaitable<bool> TrustPublisher::publish_to(const std::string& ns, const std::string& pem) {
  const std::string base = "/api/v1/namespaces/" + url_escape(ns) + "/configmaps";
  auto got = co_await client_.request(http::verb::get, base + "/" + url_escape(o_.configmap));
  if (got.ok() && jsonp::text(got.body, "/data/ca.crt") == pem) co_return true;  // already current
  json::value cm = json::object{
      {"apiVersion", "v1"},
      {"kind", "ConfigMap"},
      {"metadata", json::object{{"name", o_.configmap},
                                {"namespace", ns},
                                {"labels", json::object{{"app.kubernetes.io/managed-by", "distls-signer"}}}}},
      {"data", json::object{{"ca.crt", pem}}}};
  Result put;
  if (got.status == 404) {
    put = co_await client_.request(http::verb::post, base, std::move(cm));
  } else if (got.ok() && got.body.is_object()) {
    // Keep what others put there (labels, other keys); replace ca.crt, guarded by the
    // version read.
    auto next = got.body;
    auto& data = next.as_object()["data"];
    if (!data.is_object()) data = json::object{};
    data.as_object()["ca.crt"] = pem;
    put = co_await client_.request(http::verb::put, base + "/" + url_escape(o_.configmap), std::move(next));
  } else if (got.ok()) {
    put.transport_error = "the ConfigMap read back is not a JSON object";
  } else {
    put = got;
  }
  const bool ok = put.ok();
  metrics_.counter("distls_signer_trust_published_total", {{"namespace", ns}, {"result", ok ? "ok" : "failed"}})++;
  if (ok)
    log_.info("trust_published", {{"namespace", ns}, {"configmap", o_.configmap}, {"bytes", pem.size()}});
  else
    log_.warn("trust_publish_failed", {{"namespace", ns}, {"configmap", o_.configmap}, {"error", put.describe()}});
  co_return ok;
}

asio::awaitable<void> TrustPublisher::publish_once() {
  std::string pem;
  try {
    pem = pem::read_file(o_.bundle);
    // Only certificates that parse are published: a half-written or wrong file must not
    // reach every sidecar of the cluster.
    if (pem::read_certs(pem, o_.bundle.string()).empty()) throw std::runtime_error("no certificate");
  } catch (const std::exception& e) {
    if (pem != last_pem_)
      log_.error("trust_bundle_unusable", {{"file", o_.bundle.string()}, {"reason", e.what()},
                                           {"detail", "the ConfigMaps keep the last good bundle"}});
    co_return;
  }
  last_pem_ = pem;
  if (!may_write_()) co_return;
  for (const auto& ns : o_.namespaces) co_await publish_to(ns, pem);
}

asio::awaitable<void> TrustPublisher::run() {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    co_await publish_once();
    timer.expires_after(o_.interval);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace distls::k8s
