// The one retry backoff: capped exponential with "equal jitter" (half of each delay
// fixed, half random), as the renewal schedule, the Kubernetes client and the accept
// loop all need it. Pure: the randomness comes in as `u`, uniform in [0, 1), so that
// every rule is unit-tested without sleeping; `u = 1` gives the undithered delay.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>

namespace distls {

class Backoff {
 public:
  using ms = std::chrono::milliseconds;

  Backoff(ms base, ms cap) : base_(base), cap_(std::max(base, cap)) {}

  // One more failure: how long to wait before the next attempt.
  ms next(double u) {
    ++failures_;
    // 2^20 already dwarfs any sensible cap; stop doubling there to stay clear of overflow.
    const double factor = std::ldexp(1.0, static_cast<int>(std::min(failures_ - 1, 20u)));
    const ms full = std::min(cap_, ms(static_cast<ms::rep>(static_cast<double>(base_.count()) * factor)));
    return full / 2 + ms(static_cast<ms::rep>(static_cast<double>(full.count() - full.count() / 2) *
                                               std::clamp(u, 0.0, 1.0)));
  }

  // An attempt worked: the next failure starts again from `base`.
  void reset() { failures_ = 0; }

  unsigned failures() const { return failures_; }
  ms base() const { return base_; }

 private:
  ms base_;
  ms cap_;
  unsigned failures_ = 0;
};

}  // namespace distls
