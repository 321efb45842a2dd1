#include "distls/renewal/rotation.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace distls {

namespace asio = boost::asio;

namespace {
std::int64_t seconds_until(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t - std::chrono::system_clock::now()).count();
}
}  // namespace

Rotation::Rotation(Tasks& tasks, Logger& log, Metrics& metrics, std::string source, Renew renew, RenewalPolicy policy)
    : tasks_(tasks),
      log_(log),
      metrics_(metrics),
      source_(std::move(source)),
      renew_(std::move(renew)),
      schedule_(policy),
      timer_(tasks.executor()),
      stop_(tasks.executor()) {
  metrics_.help("distls_renewals_total", "Identity renewals attempted, by result");
  metrics_.counter("distls_renewals_total", {{"result", "ok"}});
  metrics_.counter("distls_renewals_total", {{"result", "failed"}});
}

void Rotation::start(std::optional<time_point> current_not_after) {
  const auto now = std::chrono::system_clock::now();
  if (current_not_after) {
    const auto next = schedule_.on_success(now, *current_not_after, uniform());
    log_.info("renewal_scheduled", {{"source", source_}, {"in_s", seconds_until(next)}});
  } else {
    timer_.expires_at(now);
  }
  tasks_.spawn("rotation", until_stopped(stop_, run()), Tasks::Kind::essential);
}

void Rotation::stop() {
  stopped_ = true;
  timer_.cancel();
  stop_.request();
}

void Rotation::renew_now(const std::string& why) {
  if (stopped_ || renewing_) return;
  log_.info("renewal_requested", {{"source", source_}, {"reason", why}});
  now_requested_ = true;
  timer_.cancel();
}

asio::awaitable<void> Rotation::run() {
  bool expiry_reported = false;
  while (!stopped_) {
    if (!now_requested_) {
      if (auto next = schedule_.next_attempt()) timer_.expires_at(*next);
      // Ends early on stop() or renew_now().
      co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    if (stopped_) co_return;
    now_requested_ = false;

    renewing_ = true;
    auto outcome = co_await renew_();
    renewing_ = false;
    const auto now = std::chrono::system_clock::now();
    if (auto* not_after = std::get_if<time_point>(&outcome)) {
      metrics_.counter("distls_renewals_total", {{"result", "ok"}})++;
      const auto next = schedule_.on_success(now, *not_after, uniform());
      if (expiry_reported) log_.info("identity_restored", {{"source", source_}});
      expiry_reported = false;
      log_.info("renewal_scheduled", {{"source", source_}, {"in_s", seconds_until(next)}});
      continue;
    }
    metrics_.counter("distls_renewals_total", {{"result", "failed"}})++;
    const auto retry = schedule_.on_failure(now, uniform());
    const auto& why = std::get<std::string>(outcome);
    log_.warn("renewal_failed", {{"source", source_}, {"reason", why}, {"attempt", schedule_.failures()},
                                 {"retry_in_ms", std::chrono::duration_cast<std::chrono::milliseconds>(retry - now).count()},
                                 {"expires_in_s", schedule_.not_after() ? seconds_until(*schedule_.not_after()) : 0}});
    if (schedule_.expired(now) && !expiry_reported) {
      expiry_reported = true;
      log_.error("identity_expired", {{"source", source_},
                                      {"detail", "no renewal succeeded; new handshakes are refused until one does"}});
    }
  }
}

}  // namespace distls
