// Leader election through a coordination.k8s.io/v1 Lease, as client-go does it: the
// leader renews the Lease every `renew`; another replica takes over once the Lease has
// not changed for `duration` by its own clock (so clock skew between replicas does not
// matter). Only the leader of `distls signer` approves and signs, so two replicas never
// sign the same CSR.
#pragma once

#include <chrono>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

#include "distls/k8s_client.hpp"

namespace distls::k8s {

class LeaderElection {
 public:
  struct Options {
    std::string ns, name, identity;
    std::chrono::seconds duration{15};
    std::chrono::seconds renew{5};
  };

  LeaderElection(Client& client, Options o, Logger& log, Metrics& metrics);

  // Runs forever: acquires, renews, steps down when renewing fails for `duration`.
  boost::asio::awaitable<void> run();
  bool leading() const { return leading_; }

  // One round, for run() and tests: returns whether we lead afterwards.
  boost::asio::awaitable<bool> step();

 private:
  boost::json::value lease_body(int transitions, const std::string& acquired) const;
  void set_leading(bool now, const std::string& why);

  Client& client_;
  Options o_;
  Logger& log_;
  Metrics& metrics_;
  bool leading_ = false;
  std::string observed_rv_;
  std::chrono::steady_clock::time_point observed_at_{};
  std::chrono::steady_clock::time_point renewed_at_{};
};

// RFC 3339 with microseconds, as metav1.MicroTime is written.
std::string micro_time(std::chrono::system_clock::time_point t);

}  // namespace distls::k8s
