// When to renew a self-renewing identity, and when to retry after a failure. Pure: the
// clock and the randomness come in as arguments, so that every rule is unit-tested
// without sleeping.
#pragma once

#include <chrono>
#include <optional>

#include "distls/util/backoff.hpp"

namespace distls {

struct RenewalPolicy {
  // As the kubelet's certificate manager: a random point in 70-90% of the lifetime, so
  // that a fleet issued at once does not renew at once.
  double earliest = 0.7;
  double latest = 0.9;
  std::chrono::milliseconds backoff_base{1000};
  std::chrono::milliseconds backoff_cap{std::chrono::minutes(5)};
};

class RenewalSchedule {
 public:
  using time_point = std::chrono::system_clock::time_point;

  explicit RenewalSchedule(RenewalPolicy p = {}) : policy_(p), backoff_(p.backoff_base, p.backoff_cap) {}

  // A new identity valid until `not_after` was obtained at `now`; `u` is uniform in
  // [0, 1). Returns when to renew it. Measured from `now` rather than notBefore,
  // which issuers backdate for clock skew.
  time_point on_success(time_point now, time_point not_after, double u);

  // An attempt failed at `now`: when to try again. The shared Backoff, never later
  // than the renewal would have been for a cert that is about to expire.
  time_point on_failure(time_point now, double u);

  unsigned failures() const { return backoff_.failures(); }
  std::optional<time_point> not_after() const { return not_after_; }
  std::optional<time_point> next_attempt() const { return next_; }
  // True once the identity in use has expired (or there never was one).
  bool expired(time_point now) const { return !not_after_ || now >= *not_after_; }

 private:
  RenewalPolicy policy_;
  Backoff backoff_;
  std::optional<time_point> not_after_;
  std::optional<time_point> next_;
};

}  // namespace distls
