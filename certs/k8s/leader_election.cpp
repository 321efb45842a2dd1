#include "distls/k8s/leader_election.hpp"

#include <stdexcept>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "distls/k8s/api_time.hpp"
#include "distls/util/json_pointer.hpp"

namespace distls::k8s {

namespace asio = boost::asio;
namespace json = boost::json;
namespace http = boost::beast::http;
using jsonp::text;

LeaderElection::LeaderElection(Client& client, Options o, Logger& log, Metrics& metrics)
    : client_(client), o_(std::move(o)), log_(log), metrics_(metrics) {
  if (!(o_.retry < o_.renew_deadline && o_.renew_deadline < o_.duration))
    throw std::invalid_argument("lease timings must nest: retry < renew deadline < lease duration");
  metrics_.help("distls_leader", "1 while this replica holds the Lease");
  metrics_.gauge("distls_leader") = 0;
}

json::value LeaderElection::lease_body(int transitions, const std::string& holder, const std::string& acquired,
                                       std::chrono::seconds duration) const {
  const auto now = micro_time(std::chrono::system_clock::now());
  return json::object{{"apiVersion", "coordination.k8s.io/v1"},
                      {"kind", "Lease"},
                      {"metadata", json::object{{"name", o_.name}, {"namespace", o_.ns}}},
                      {"spec", json::object{{"holderIdentity", holder},
                                            {"leaseDurationSeconds", duration.count()},
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
  if (now) renewed_at_ = clock::now();
}

ClientOptions LeaderElection::budget(clock::time_point deadline) const {
  // One try, for what is left of the deadline: a stalled API server must not keep a
  // leader believing it leads. Rounded up, so that a try that times out ends at or past
  // the deadline and the step that made it sees leadership lost (truncating would end
  // it a fraction of a millisecond early, still "leading").
  ClientOptions b;
  b.attempts = 1;
  b.timeout = std::max(std::chrono::milliseconds(100), std::chrono::ceil<std::chrono::milliseconds>(deadline - clock::now()));
  return b;
}

asio::awaitable<bool> LeaderElection::step() {
  const std::string path = "/apis/coordination.k8s.io/v1/namespaces/" + o_.ns + "/leases";
  const auto started = clock::now();
  // A leader must be done before its renew deadline; a follower within one retry period.
  const auto deadline = leading_ ? renewed_at_ + o_.renew_deadline : started + o_.retry;
  auto lost = [&](const std::string& why) {
    if (leading_ && !leading(clock::now())) set_leading(false, why);
  };
  auto got = co_await client_.request(http::verb::get, path + "/" + o_.name, std::nullopt, budget(deadline));
  if (got.status == 404) {
    auto created = co_await client_.request(http::verb::post, path, lease_body(0, o_.identity, "", o_.duration),
                                            budget(deadline));
    if (created.ok()) {
      observed_rv_ = text(created.body, "/metadata/resourceVersion");
      observed_at_ = clock::now();
      set_leading(true, "created the lease");
    }
    co_return leading();
  }
  const auto rv = text(got.body, "/metadata/resourceVersion");
  if (!got.ok() || rv.empty()) {
    log_.warn("leader_election_error", {{"error", got.ok() ? std::string("a Lease without resourceVersion") : got.describe()}});
    lost("could not renew: " + got.describe());
    co_return leading();
  }
  const std::string holder = text(got.body, "/spec/holderIdentity");
  transitions_ = static_cast<int>(jsonp::integer(got.body, "/spec/leaseTransitions").value_or(0));
  if (rv != observed_rv_) {
    observed_rv_ = rv;
    observed_at_ = started;
  }
  const bool ours = holder == o_.identity;
  const auto held_for = std::chrono::seconds(jsonp::integer(got.body, "/spec/leaseDurationSeconds").value_or(o_.duration.count()));
  const bool expired = holder.empty() || started - observed_at_ >= held_for;
  if (!ours && !expired) {
    set_leading(false, "held by " + holder);
    co_return false;
  }
  auto next = lease_body(ours ? transitions_ : transitions_ + 1, o_.identity,
                         ours ? text(got.body, "/spec/acquireTime") : "", o_.duration);
  next.as_object()["metadata"].as_object()["resourceVersion"] = rv;
  auto put = co_await client_.request(http::verb::put, path + "/" + o_.name, next, budget(deadline));
  if (put.ok()) {
    observed_rv_ = text(put.body, "/metadata/resourceVersion");
    observed_at_ = clock::now();
    if (clock::now() < deadline || !leading_) {
      set_leading(true, ours ? "renewed" : "took over from " + (holder.empty() ? std::string("nobody") : holder));
    } else {
      lost("renewed too late");
    }
  } else if (put.status == 409) {
    set_leading(false, "another replica won the lease");
  } else {
    lost("could not renew: " + put.describe());
  }
  co_return leading();
}

asio::awaitable<void> LeaderElection::release() {
  if (!leading_) co_return;
  set_leading(false, "released on shutdown");
  const std::string path = "/apis/coordination.k8s.io/v1/namespaces/" + o_.ns + "/leases/" + o_.name;
  const auto deadline = clock::now() + std::chrono::seconds(2);
  auto got = co_await client_.request(http::verb::get, path, std::nullopt, budget(deadline));
  if (!got.ok() || text(got.body, "/spec/holderIdentity") != o_.identity) co_return;
  // What client-go's ReleaseOnCancel writes: no holder, a one-second lease.
  auto next = lease_body(transitions_, "", text(got.body, "/spec/acquireTime"), std::chrono::seconds(1));
  next.as_object()["metadata"].as_object()["resourceVersion"] = text(got.body, "/metadata/resourceVersion");
  auto put = co_await client_.request(http::verb::put, path, next, budget(deadline));
  log_.info("leader_released", {{"lease", o_.ns + "/" + o_.name}, {"ok", put.ok() ? "true" : "false"},
                                {"detail", put.ok() ? std::string("another replica may take over now") : put.describe()}});
}

asio::awaitable<void> LeaderElection::run() {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (!stopped_) {
    co_await step();
    if (stopped_) break;
    timer.expires_after(o_.retry);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace distls::k8s
