#include "distls/leader_election.hpp"

#include <ctime>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

namespace distls::k8s {

namespace asio = boost::asio;
namespace json = boost::json;
namespace http = boost::beast::http;

std::string micro_time(std::chrono::system_clock::time_point t) {
  const auto secs = std::chrono::time_point_cast<std::chrono::seconds>(t);
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(t - secs).count();
  const std::time_t tt = std::chrono::system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long>(micros));
  return buf;
}

LeaderElection::LeaderElection(Client& client, Options o, Logger& log, Metrics& metrics)
    : client_(client), o_(std::move(o)), log_(log), metrics_(metrics) {
  metrics_.help("distls_leader", "1 while this replica holds the Lease");
  metrics_.gauge("distls_leader") = 0;
}

json::value LeaderElection::lease_body(int transitions, const std::string& acquired) const {
  const auto now = micro_time(std::chrono::system_clock::now());
  return json::object{{"apiVersion", "coordination.k8s.io/v1"},
                      {"kind", "Lease"},
                      {"metadata", json::object{{"name", o_.name}, {"namespace", o_.ns}}},
                      {"spec", json::object{{"holderIdentity", o_.identity},
                                            {"leaseDurationSeconds", o_.duration.count()},
                                            {"acquireTime", acquired.empty() ? now : acquired},
                                            {"renewTime", now},
                                            {"leaseTransitions", transitions}}}};
}

void LeaderElection::set_leading(bool now, const std::string& why) {
  if (now != leading_)
    log_.info(now ? "leader_elected" : "leader_lost", {{"lease", o_.ns + "/" + o_.name}, {"identity", o_.identity},
                                                      {"detail", why}});
  leading_ = now;
  metrics_.gauge("distls_leader") = now ? 1 : 0;
  if (now) renewed_at_ = std::chrono::steady_clock::now();
}

asio::awaitable<bool> LeaderElection::step() {
  const std::string path = "/apis/coordination.k8s.io/v1/namespaces/" + o_.ns + "/leases";
  const auto steady_now = std::chrono::steady_clock::now();
  auto got = co_await client_.request(http::verb::get, path + "/" + o_.name);
  if (got.status == 404) {
    auto created = co_await client_.request(http::verb::post, path, lease_body(0, ""));
    if (created.ok()) set_leading(true, "created the lease");
    co_return leading_;
  }
  if (!got.ok()) {
    log_.warn("leader_election_error", {{"error", got.describe()}});
    if (leading_ && steady_now - renewed_at_ >= o_.duration) set_leading(false, "could not renew: " + got.describe());
    co_return leading_;
  }
  const auto& obj = got.body.as_object();
  const auto* spec = obj.if_contains("spec") ? obj.at("spec").if_object() : nullptr;
  auto field = [&](std::string_view k) -> std::string {
    if (!spec || !spec->contains(k) || !spec->at(k).is_string()) return "";
    return std::string(spec->at(k).as_string());
  };
  const std::string holder = field("holderIdentity");
  const int transitions = spec && spec->contains("leaseTransitions") && spec->at("leaseTransitions").is_int64()
                              ? static_cast<int>(spec->at("leaseTransitions").as_int64())
                              : 0;
  const std::string rv(obj.at("metadata").at("resourceVersion").as_string());
  if (rv != observed_rv_) {
    observed_rv_ = rv;
    observed_at_ = steady_now;
  }
  const bool ours = holder == o_.identity;
  const bool expired = holder.empty() || steady_now - observed_at_ >= o_.duration;
  if (!ours && !expired) {
    set_leading(false, "held by " + holder);
    co_return false;
  }
  auto next = lease_body(ours ? transitions : transitions + 1, ours ? field("acquireTime") : "");
  next.as_object()["metadata"].as_object()["resourceVersion"] = rv;
  auto put = co_await client_.request(http::verb::put, path + "/" + o_.name, next);
  if (put.ok()) {
    observed_rv_ = std::string(put.body.at("metadata").at("resourceVersion").as_string());
    observed_at_ = std::chrono::steady_clock::now();
    set_leading(true, ours ? "renewed" : "took over from " + (holder.empty() ? std::string("nobody") : holder));
  } else if (put.status == 409) {
    set_leading(false, "another replica won the lease");
  } else if (leading_ && steady_now - renewed_at_ >= o_.duration) {
    set_leading(false, "could not renew: " + put.describe());
  }
  co_return leading_;
}

asio::awaitable<void> LeaderElection::run() {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    bool lead = false;
    try {
      lead = co_await step();
    } catch (const std::exception& e) {  // a malformed Lease from the server
      log_.warn("leader_election_error", {{"error", e.what()}});
      lead = leading_;
    }
    // Followers retry a little faster than the leader renews, to notice expiry promptly.
    timer.expires_after(lead ? o_.renew : o_.renew / 2 + std::chrono::seconds(1));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace distls::k8s
