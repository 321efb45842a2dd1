#include "distls/signer.hpp"

#include <map>
#include <optional>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "distls/base64.hpp"
#include "distls/csr.hpp"
#include "distls/k8s_csr_source.hpp"
#include "distls/leader_election.hpp"
#include "distls/pem.hpp"
#include "distls/signing_ca.hpp"

namespace distls::k8s {

namespace asio = boost::asio;
namespace json = boost::json;
namespace http = boost::beast::http;

namespace {

std::string str(const json::value& v, std::initializer_list<std::string_view> keys) {
  const json::value* cur = &v;
  for (auto k : keys) {
    const auto* o = cur->if_object();
    if (!o || !(cur = o->if_contains(k))) return "";
  }
  return cur->is_string() ? std::string(cur->as_string()) : "";
}

bool approved(const json::value& csr) {
  const auto* status = csr.as_object().if_contains("status");
  const auto* conds = status && status->is_object() ? status->as_object().if_contains("conditions") : nullptr;
  if (!conds || !conds->is_array()) return false;
  for (const auto& c : conds->as_array())
    if (str(c, {"type"}) == "Approved" && str(c, {"status"}) != "False") return true;
  return false;
}

asio::awaitable<void> pause(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
}

}  // namespace

Signer::Signer(Client& client, SignerOptions o, Logger& log, Metrics& metrics, std::function<bool()> may_write)
    : client_(client), o_(std::move(o)), log_(log), metrics_(metrics), may_write_(std::move(may_write)) {
  metrics_.help("distls_signer_decisions_total", "CSRs approved or denied, by decision and reason");
  metrics_.help("distls_signer_issued_total", "Certificates issued");
  metrics_.help("distls_signer_errors_total", "Errors while handling CSRs, by what failed");
}

asio::awaitable<bool> Signer::put_condition(const json::value& csr, const std::string& subresource,
                                            const std::string& type, const Verdict& v) {
  auto next = csr;
  auto& status = next.as_object()["status"];
  if (!status.is_object()) status = json::object{};
  auto& conds = status.as_object()["conditions"];
  if (!conds.is_array()) conds = json::array{};
  const auto now = micro_time(std::chrono::system_clock::now()).substr(0, 19) + "Z";
  conds.as_array().push_back(json::object{{"type", type},
                                          {"status", "True"},
                                          {"reason", v.reason},
                                          {"message", v.message},
                                          {"lastUpdateTime", now},
                                          {"lastTransitionTime", now}});
  const auto name = str(csr, {"metadata", "name"});
  auto r = co_await client_.request(http::verb::put, std::string(kCsrPath) + "/" + name + "/" + subresource, next);
  if (!r.ok()) {
    // 409: someone else wrote first (another replica, an admin); the watch brings it.
    if (r.status != 409) {
      metrics_.counter("distls_signer_errors_total", "what=\"" + subresource + "\"")++;
      log_.warn("signer_write_failed", {{"csr", name}, {"condition", type}, {"error", r.describe()}});
    }
    co_return false;
  }
  if (type != "Failed") {
    metrics_.counter("distls_signer_decisions_total",
                     std::string("decision=\"") + (type == "Approved" ? "approved" : "denied") + "\",reason=\"" +
                         v.reason + "\"")++;
  }
  log_.info(type == "Approved" ? "csr_approved" : type == "Denied" ? "csr_denied" : "csr_failed",
            {{"csr", name}, {"requester", str(csr, {"spec", "username"})}, {"reason", v.reason},
             {"detail", v.message}});
  co_return true;
}

asio::awaitable<void> Signer::sign(const json::value& csr, const CsrRequest& request) {
  const auto name = str(csr, {"metadata", "name"});
  std::string chain;
  try {
    const auto ca = certs::SigningCa::load(o_.ca_cert, o_.ca_key);
    const auto req = certs::read_csr(request.csr_pem, "CSR " + name);
    chain = pem::cert_to_pem(ca.sign(req.get(), leaf_spec(request)).get());
    for (const auto& i : ca.intermediates()) chain += pem::cert_to_pem(i.get());
  } catch (const std::exception& e) {
    // Our CA files, not the request: leave the CSR approved for the next try.
    metrics_.counter("distls_signer_errors_total", "what=\"sign\"")++;
    log_.error("signing_failed", {{"csr", name}, {"reason", e.what()}});
    co_return;
  }
  auto next = csr;
  auto& status = next.as_object()["status"];
  if (!status.is_object()) status = json::object{};
  status.as_object()["certificate"] = base64_encode(chain);
  auto r = co_await client_.request(http::verb::put, std::string(kCsrPath) + "/" + name + "/status", next);
  if (!r.ok()) {
    if (r.status != 409) {
      metrics_.counter("distls_signer_errors_total", "what=\"status\"")++;
      log_.warn("signer_write_failed", {{"csr", name}, {"what", "certificate"}, {"error", r.describe()}});
    }
    co_return;  // 409: another writer got there; the CSR carries at most one certificate
  }
  metrics_.counter("distls_signer_issued_total")++;
  log_.info("csr_issued", {{"csr", name}, {"node", request.common_name}, {"ttl_s", request.ttl.count()}});
}

asio::awaitable<void> Signer::process(json::value csr) {
  if (!csr.is_object()) co_return;
  const auto name = str(csr, {"metadata", "name"});
  if (csr_state(csr).kind != CsrState::Kind::pending) co_return;
  const bool was_approved = approved(csr);
  auto reject = [&](const Verdict& v) -> asio::awaitable<void> {
    // Denied before approval; once someone approved, the signer can only fail it.
    co_await put_condition(csr, was_approved ? "status" : "approval", was_approved ? "Failed" : "Denied", v);
  };
  auto examined = examine(csr, o_.policy);
  if (auto* v = std::get_if<Verdict>(&examined)) {
    if (v->reason == "WrongSigner") co_return;  // not ours; the selector should not have sent it
    if (may_write_()) co_await reject(*v);
    co_return;
  }
  const auto& request = std::get<CsrRequest>(examined);
  auto pods = co_await client_.request(
      http::verb::get, "/api/v1/namespaces/" + url_escape(request.ns) + "/pods?fieldSelector=" +
                           url_escape("status.podIP=" + request.ip));
  if (!pods.ok()) {
    metrics_.counter("distls_signer_errors_total", "what=\"pods\"")++;
    log_.warn("signer_pod_lookup_failed", {{"csr", name}, {"error", pods.describe()}});
    co_return;  // undecided; the next resync retries
  }
  const auto verdict = check_pods(request, pods.body, o_.policy);
  if (!may_write_()) co_return;
  if (!verdict.approve) co_return co_await reject(verdict);
  if (!was_approved) {
    if (!co_await put_condition(csr, "approval", "Approved", verdict)) co_return;
    // Sign the version we approved: re-read it for its new resourceVersion.
    auto fresh = co_await client_.request(http::verb::get, std::string(kCsrPath) + "/" + name);
    if (!fresh.ok()) co_return;
    csr = fresh.body;
    if (csr_state(csr).kind != CsrState::Kind::pending) co_return;
  }
  co_await sign(csr, request);
}

asio::awaitable<std::string> Signer::list_and_process() {
  auto list = co_await client_.request(
      http::verb::get, std::string(kCsrPath) + "?fieldSelector=" + url_escape("spec.signerName=" + o_.policy.signer_name));
  if (!list.ok()) {
    log_.warn("signer_list_failed", {{"error", list.describe()}});
    co_return std::string();
  }
  if (const auto* items = list.body.as_object().if_contains("items"); items && items->is_array())
    for (const auto& csr : items->as_array()) co_await process(csr);
  co_return str(list.body, {"metadata", "resourceVersion"});
}

asio::awaitable<void> Signer::run() {
  log_.info("signer_started", {{"signer", o_.policy.signer_name}, {"max_ttl_s", o_.policy.max_ttl.count()},
                               {"api", client_.connection().describe()}});
  // One worker per CSR at a time; events arriving meanwhile only mark it for a fresh look.
  std::map<std::string, bool> busy;
  auto ex = co_await asio::this_coro::executor;
  auto worker = [this, &busy](json::value csr) -> asio::awaitable<void> {
    const auto name = str(csr, {"metadata", "name"});
    for (;;) {
      co_await process(std::move(csr));
      if (!busy[name]) break;
      busy[name] = false;
      auto fresh = co_await client_.request(http::verb::get, std::string(kCsrPath) + "/" + name);
      if (!fresh.ok()) break;
      csr = fresh.body;
    }
    busy.erase(name);
  };
  for (;;) {
    if (!may_write_()) {
      co_await pause(std::chrono::seconds(1));
      continue;
    }
    const auto rv = co_await list_and_process();
    if (rv.empty()) {
      co_await pause(std::chrono::seconds(2));
      continue;
    }
    auto end = co_await client_.watch(
        std::string(kCsrPath) + "?watch=true&allowWatchBookmarks=true&fieldSelector=" +
            url_escape("spec.signerName=" + o_.policy.signer_name) + "&resourceVersion=" + url_escape(rv) +
            "&timeoutSeconds=" + std::to_string(o_.resync.count()),
        [&](const std::string& type, const json::value& obj) {
          if (type == "ERROR") return false;  // 410 Gone and friends: re-list
          if (type != "ADDED" && type != "MODIFIED") return true;
          const auto name = str(obj, {"metadata", "name"});
          if (busy.contains(name)) {
            busy[name] = true;
          } else {
            busy[name] = false;
            asio::co_spawn(ex, worker(obj), asio::detached);
          }
          return may_write_();
        },
        o_.resync);
    if (!end.error.empty()) {
      log_.warn("signer_watch_interrupted", {{"error", end.error}});
      co_await pause(std::chrono::seconds(1));
    }
  }
}

}  // namespace distls::k8s
