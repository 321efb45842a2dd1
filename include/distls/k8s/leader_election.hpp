// Leader election through a coordination.k8s.io/v1 Lease, as client-go's leaderelection
// does it: the leader renews every `retry`; each attempt to renew is time-boxed, and the
// leader stops acting (leading() turns false) once its last successful renewal is older
// than `renew_deadline`, shorter than the lease's `duration`, so that it has stopped
// before another replica may take over. Another replica takes over once the Lease has
// not changed for `duration` by its own clock (clock skew between replicas does not
// matter), or at once when the holder released it (`release()` on shutdown).
#pragma once

#include <chrono>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

#include "distls/k8s/client.hpp"

namespace distls::k8s {

class LeaderElection {
 public:
  struct Options {
    std::string ns, name, identity;
    std::chrono::seconds duration{15};        // leaseDurationSeconds
    std::chrono::seconds renew_deadline{10};  // a leader stops acting this long after its last renewal
    std::chrono::seconds retry{2};            // between attempts
  };
  using clock = std::chrono::steady_clock;

  // Throws ConfigError-like std::invalid_argument when the durations do not nest
  // (retry < renew_deadline < duration).
  LeaderElection(Client& client, Options o, Logger& log, Metrics& metrics);

  // Runs until stop(): acquires, renews, steps down.
  boost::asio::awaitable<void> run();
  void stop() { stopped_ = true; }
  // Whether this replica may act now: it holds the Lease and renewed it within the deadline.
  bool leading(clock::time_point now = clock::now()) const {
    return leading_ && now - renewed_at_ < o_.renew_deadline;
  }

  // One attempt, for run() and tests: returns leading() afterwards.
  boost::asio::awaitable<bool> step();
  // Hands the Lease back (holder "", duration 1 s) so that another replica takes over at
  // once rather than after `duration`; time-boxed. Only when this replica holds it.
  boost::asio::awaitable<void> release();

 private:
  boost::json::value lease_body(int transitions, const std::string& holder, const std::string& acquired,
                                std::chrono::seconds duration) const;
  void set_leading(bool now, const std::string& why);
  ClientOptions budget(clock::time_point deadline) const;

  Client& client_;
  Options o_;
  Logger& log_;
  Metrics& metrics_;
  bool leading_ = false;
  bool stopped_ = false;
  std::string observed_rv_;
  clock::time_point observed_at_{};
  clock::time_point renewed_at_{};
  int transitions_ = 0;
};

}  // namespace distls::k8s
