// The rotation loop shared by every self-renewing cert source: renew on the schedule,
// back off on failure, keep serving with the current identity meanwhile, and say so
// loudly once it has expired.
#pragma once

#include <functional>
#include <random>
#include <string>
#include <variant>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/system_timer.hpp>

#include "distls/util/log.hpp"
#include "distls/util/metrics.hpp"
#include "distls/renewal/renewal_schedule.hpp"
#include "distls/util/stop_signal.hpp"
#include "distls/util/tasks.hpp"

namespace distls {

class Rotation {
 public:
  using time_point = std::chrono::system_clock::time_point;
  // Obtains and installs a new identity: its notAfter, or why it failed.
  using Renew = std::function<boost::asio::awaitable<std::variant<time_point, std::string>>()>;

  // The loop runs in `tasks`, as an essential task.
  Rotation(Tasks& tasks, Logger& log, Metrics& metrics, std::string source, Renew renew, RenewalPolicy policy = {});

  // Starts the loop. `current_not_after`: the identity installed at startup, if any;
  // without one the first attempt is immediate.
  void start(std::optional<time_point> current_not_after);
  // Ends the loop, a renewal in flight included (its pending request is cancelled).
  void stop();
  // Renews at once instead of at the scheduled time (a trust bundle is waiting for a
  // certificate from the new CA). A renewal already running counts as that one.
  void renew_now(const std::string& why);

  const RenewalSchedule& schedule() const { return schedule_; }

 private:
  boost::asio::awaitable<void> run();
  double uniform() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); }

  Tasks& tasks_;
  Logger& log_;
  Metrics& metrics_;
  std::string source_;
  Renew renew_;
  RenewalSchedule schedule_;
  boost::asio::system_timer timer_;
  std::mt19937_64 rng_{std::random_device{}()};
  StopSignal stop_;
  bool stopped_ = false;
  bool now_requested_ = false;
  bool renewing_ = false;
};

}  // namespace distls
