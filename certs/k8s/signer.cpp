#include "distls/k8s/signer.hpp"

#include <optional>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "distls/k8s/api_time.hpp"
#include "distls/util/base64.hpp"
#include "distls/x509/csr.hpp"
#include "distls/util/json_pointer.hpp"
#include "distls/k8s/csr_source.hpp"
#include "distls/x509/pem.hpp"
#include "distls/x509/signing_ca.hpp"

namespace distls::k8s {

namespace asio = boost::asio;
namespace json = boost::json;
namespace http = boost::beast::http;
using jsonp::text;

namespace {

bool approved(const json::value& csr) {
  if (const auto* conds = jsonp::array(csr, "/status/conditions"))
    for (const auto& c : *conds)
      if (text(c, "/type") == "Approved" && text(c, "/status") != "False") return true;
  return false;
}

asio::awaitable<void> pause(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
}

std::string pods_path(const std::string& ns, const std::string& selector) {
  return "/api/v1/namespaces/" + url_escape(ns) + "/pods?fieldSelector=" + url_escape(selector);
}

}  // namespace

Signer::Signer(Client& client, SignerOptions o, Logger& log, Metrics& metrics, Tasks& tasks,
               std::function<bool()> may_write)
    : client_(client), o_(std::move(o)), log_(log), metrics_(metrics), tasks_(tasks), may_write_(std::move(may_write)) {
  metrics_.help("distls_signer_decisions_total", "CSRs approved or denied, by decision and reason");
  metrics_.help("distls_signer_issued_total", "Certificates issued");
  metrics_.help("distls_signer_errors_total", "Errors while handling CSRs, by what failed");
  metrics_.help("distls_signer_waiting", "CSRs waiting for their pod or its IP to reach the API");
  metrics_.gauge("distls_signer_waiting") = 0;
}

asio::awaitable<void> Signer::record_event(const json::value& csr, bool warning, const std::string& reason,
                                           const std::string& message) {
  // A cluster-scoped object's Events live in "default" (client-go's recorder; the API
  // refuses them elsewhere); `kubectl describe csr` finds them by involvedObject.
  const auto now = std::chrono::system_clock::now();
  const auto name = text(csr, "/metadata/name");
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, ".%llx",
                static_cast<unsigned long long>(std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count()));
  json::value event = json::object{
      {"apiVersion", "v1"},
      {"kind", "Event"},
      {"metadata", json::object{{"name", name + suffix}, {"namespace", "default"}}},
      {"involvedObject", json::object{{"apiVersion", "certificates.k8s.io/v1"},
                                      {"kind", "CertificateSigningRequest"},
                                      {"name", name},
                                      {"uid", text(csr, "/metadata/uid")}}},
      {"reason", reason},
      {"message", message},
      {"type", warning ? "Warning" : "Normal"},
      {"source", json::object{{"component", "distls-signer"}}},
      {"reportingComponent", "distls.io/signer"},
      {"reportingInstance", o_.instance},
      {"firstTimestamp", api_time(now)},
      {"lastTimestamp", api_time(now)},
      {"count", 1}};
  auto r = co_await client_.request(http::verb::post, "/api/v1/namespaces/default/events", std::move(event));
  if (!r.ok()) {
    // The decision stands; only its explanation in `kubectl describe` is missing.
    metrics_.counter("distls_signer_errors_total", {{"what", "event"}})++;
    log_.warn("signer_event_failed", {{"csr", name}, {"reason", reason}, {"error", r.describe()}});
  }
}

asio::awaitable<bool> Signer::put_condition(const json::value& csr, const std::string& subresource,
                                            const std::string& type, const Verdict& v) {
  auto next = csr;
  auto& status = next.as_object()["status"];
  if (!status.is_object()) status = json::object{};
  auto& conds = status.as_object()["conditions"];
  if (!conds.is_array()) conds = json::array{};
  const auto now = api_time(std::chrono::system_clock::now());
  conds.as_array().push_back(json::object{{"type", type},
                                          {"status", "True"},
                                          {"reason", v.reason},
                                          {"message", v.message},
                                          {"lastUpdateTime", now},
                                          {"lastTransitionTime", now}});
  const auto name = text(csr, "/metadata/name");
  auto r = co_await client_.request(http::verb::put, std::string(kCsrPath) + "/" + name + "/" + subresource, next);
  if (!r.ok()) {
    // 409: someone else wrote first (another replica, an admin); the watch brings it.
    if (r.status != 409) {
      metrics_.counter("distls_signer_errors_total", {{"what", subresource}})++;
      log_.warn("signer_write_failed", {{"csr", name}, {"condition", type}, {"error", r.describe()}});
    }
    co_return false;
  }
  if (type != "Failed") {
    metrics_.counter("distls_signer_decisions_total",
                     {{"decision", type == "Approved" ? "approved" : "denied"}, {"reason", v.reason}})++;
  }
  log_.info(type == "Approved" ? "csr_approved" : type == "Denied" ? "csr_denied" : "csr_failed",
            {{"csr", name}, {"requester", text(csr, "/spec/username")}, {"reason", v.reason}, {"detail", v.message}});
  co_await record_event(csr, type != "Approved", v.reason, type + ": " + v.message);
  co_return true;
}

asio::awaitable<void> Signer::sign(const json::value& csr, const CsrRequest& request) {
  const auto name = text(csr, "/metadata/name");
  std::string chain;
  try {
    const auto ca = certs::SigningCa::load(o_.ca_cert, o_.ca_key);
    const auto req = certs::read_csr(request.csr_pem, "CSR " + name);
    chain = pem::cert_to_pem(ca.sign(req.get(), leaf_spec(request)).get());
    for (const auto& i : ca.intermediates()) chain += pem::cert_to_pem(i.get());
  } catch (const std::exception& e) {
    // Our CA files, not the request: leave the CSR approved for the next try.
    metrics_.counter("distls_signer_errors_total", {{"what", "sign"}})++;
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
      metrics_.counter("distls_signer_errors_total", {{"what", "status"}})++;
      log_.warn("signer_write_failed", {{"csr", name}, {"what", "certificate"}, {"error", r.describe()}});
    }
    co_return;  // 409: another writer got there; the CSR carries at most one certificate
  }
  metrics_.counter("distls_signer_issued_total")++;
  log_.info("csr_issued", {{"csr", name}, {"node", request.common_name}, {"ttl_s", request.ttl.count()}});
  co_await record_event(csr, false, "Issued",
                        "certificate for " + request.common_name + " valid " + std::to_string(request.ttl.count()) +
                            "s issued by distls signer");
}

asio::awaitable<Verdict> Signer::judge(const CsrRequest& request) {
  // Read with list (by name, by IP) only: the signer's RBAC grants nothing more, per
  // namespace (deploy/: a RoleBinding in each namespace it serves).
  auto by_name = co_await client_.request(http::verb::get, pods_path(request.ns, "metadata.name=" + request.pod_name));
  // Not `ok ? co_await a : b`: GCC 12 mis-destroys temporaries of a co_await inside ?:.
  Result by_ip = by_name;
  if (by_name.ok()) by_ip = co_await client_.request(http::verb::get, pods_path(request.ns, "status.podIP=" + request.ip));
  for (const auto* r : {&by_name, &by_ip}) {
    if (r->ok()) continue;
    if (r->status == 403)
      co_return Verdict{Verdict::Kind::deny, "NamespaceNotServed",
                        "this signer may not read the pods of namespace " + request.ns + " (" + r->describe() + ")"};
    metrics_.counter("distls_signer_errors_total", {{"what", "pods"}})++;
    co_return Verdict{Verdict::Kind::wait, "PodLookupFailed", r->describe()};
  }
  auto verdict = check_pod(request, by_name.body, by_ip.body);
  if (!verdict.approve() || request.dns.empty()) co_return verdict;
  // DNS SANs: the pod's StatefulSet vouches for its hostname and subdomain.
  const json::value* pod = nullptr;
  if (const auto* items = jsonp::array(by_name.body, "/items"); items && !items->empty()) pod = &items->front();
  const auto sts_name = pod ? controller_statefulset(*pod) : std::string();
  if (sts_name.empty()) co_return check_dns(request, *pod, nullptr, o_.policy);
  auto sts = co_await client_.request(
      http::verb::get, "/apis/apps/v1/namespaces/" + url_escape(request.ns) +
                           "/statefulsets?fieldSelector=" + url_escape("metadata.name=" + sts_name));
  if (!sts.ok()) {
    metrics_.counter("distls_signer_errors_total", {{"what", "statefulsets"}})++;
    co_return Verdict{Verdict::Kind::wait, "StatefulSetLookupFailed", sts.describe()};
  }
  const auto* items = jsonp::array(sts.body, "/items");
  co_return check_dns(request, *pod, items && !items->empty() ? &items->front() : nullptr, o_.policy);
}

asio::awaitable<void> Signer::process(json::value csr) {
  if (!csr.is_object()) co_return;
  const auto name = text(csr, "/metadata/name");
  if (csr_state(csr).kind != CsrState::Kind::pending) co_return;
  const bool was_approved = approved(csr);
  if (was_approved && o_.approve_only) co_return;  // the issuer's to sign now
  auto reject = [&](const Verdict& v) -> asio::awaitable<void> {
    waiting_.erase(name);
    metrics_.gauge("distls_signer_waiting") = static_cast<std::int64_t>(waiting_.size());
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
  if (auto v = abandoned(request, o_.policy, std::chrono::system_clock::now())) {
    if (may_write_()) co_await reject(*v);
    co_return;
  }
  auto verdict = co_await judge(request);
  if (!may_write_()) co_return;
  if (verdict.kind == Verdict::Kind::wait) {
    const auto now = std::chrono::steady_clock::now();
    const auto [it, first] = waiting_.try_emplace(name, now);
    metrics_.gauge("distls_signer_waiting") = static_cast<std::int64_t>(waiting_.size());
    if (now - it->second < o_.policy.pod_wait) {
      if (first) {
        log_.info("csr_waiting", {{"csr", name}, {"reason", verdict.reason}, {"detail", verdict.message}});
        co_await record_event(csr, false, "Waiting", verdict.reason + ": " + verdict.message + "; looking again for up to " +
                                                        std::to_string(o_.policy.pod_wait.count()) + "s");
      }
      look_again(name, std::chrono::seconds(2));
      co_return;
    }
    // A denial is final for this key: only after the wait, never for a pod that is merely slow.
    verdict.kind = Verdict::Kind::deny;
    verdict.message += " after waiting " + std::to_string(o_.policy.pod_wait.count()) + "s";
  }
  if (!verdict.approve()) co_return co_await reject(verdict);
  waiting_.erase(name);
  metrics_.gauge("distls_signer_waiting") = static_cast<std::int64_t>(waiting_.size());
  if (!was_approved) {
    if (!co_await put_condition(csr, "approval", "Approved", verdict)) co_return;
    if (o_.approve_only) co_return;
    // Sign the version we approved: re-read it for its new resourceVersion.
    auto fresh = co_await client_.request(http::verb::get, std::string(kCsrPath) + "/" + name);
    if (!fresh.ok()) co_return;
    csr = fresh.body;
    if (csr_state(csr).kind != CsrState::Kind::pending) co_return;
  }
  co_await sign(csr, request);
}

void Signer::dispatch(json::value csr) {
  const auto name = text(csr, "/metadata/name");
  if (name.empty() || csr_state(csr).kind != CsrState::Kind::pending) return;
  if (auto it = busy_.find(name); it != busy_.end()) {
    it->second = true;
    return;
  }
  busy_[name] = false;
  tasks_.spawn("signer-csr", [this, name, csr = std::move(csr)]() mutable -> asio::awaitable<void> {
    for (;;) {
      co_await process(std::move(csr));
      if (!busy_[name]) break;
      busy_[name] = false;
      auto fresh = co_await client_.request(http::verb::get, std::string(kCsrPath) + "/" + name);
      if (!fresh.ok()) break;
      csr = fresh.body;
    }
    busy_.erase(name);
  });
}

void Signer::look_again(const std::string& name, std::chrono::seconds after) {
  tasks_.spawn("signer-recheck", [this, name, after]() -> asio::awaitable<void> {
    co_await pause(after);
    auto fresh = co_await client_.request(http::verb::get, std::string(kCsrPath) + "/" + name);
    if (fresh.ok()) {
      dispatch(std::move(fresh.body));
    } else if (fresh.status == 404) {
      waiting_.erase(name);
      metrics_.gauge("distls_signer_waiting") = static_cast<std::int64_t>(waiting_.size());
    } else {
      look_again(name, after);  // the API is away: the watch or the next look brings it
    }
  });
}

asio::awaitable<std::string> Signer::list_and_process() {
  auto list = co_await client_.request(
      http::verb::get, std::string(kCsrPath) + "?fieldSelector=" + url_escape("spec.signerName=" + o_.policy.signer_name));
  const auto* items = list.ok() ? jsonp::array(list.body, "/items") : nullptr;
  if (!items) {
    log_.warn("signer_list_failed", {{"error", list.ok() ? std::string("the answer is not a list") : list.describe()}});
    co_return std::string();
  }
  for (const auto& csr : *items) dispatch(csr);
  co_return text(list.body, "/metadata/resourceVersion");
}

asio::awaitable<void> Signer::run() {
  std::string namespaces;
  for (const auto& ns : o_.policy.namespaces) namespaces += (namespaces.empty() ? "" : ",") + ns;
  log_.info("signer_started", {{"signer", o_.policy.signer_name}, {"max_ttl_s", o_.policy.max_ttl.count()},
                               {"namespaces", namespaces.empty() ? "all" : namespaces},
                               {"api", client_.connection().describe()}});
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
          if (type == "ADDED" || type == "MODIFIED") dispatch(obj);
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
