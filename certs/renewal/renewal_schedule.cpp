#include "distls/renewal/renewal_schedule.hpp"

#include <algorithm>

namespace distls {

RenewalSchedule::time_point RenewalSchedule::on_success(time_point now, time_point not_after, double u) {
  backoff_.reset();
  not_after_ = not_after;
  const auto lifetime = std::max(not_after - now, time_point::duration::zero());
  const double fraction = policy_.earliest + (policy_.latest - policy_.earliest) * std::clamp(u, 0.0, 1.0);
  next_ = now + std::chrono::round<time_point::duration>(lifetime * fraction);
  return *next_;
}

RenewalSchedule::time_point RenewalSchedule::on_failure(time_point now, double u) {
  using ms = std::chrono::milliseconds;
  ms delay = backoff_.next(u);
  // Close to expiry, keep trying at least every tenth of what is left: a long backoff
  // must not carry us past notAfter when the issuer has just come back.
  if (not_after_ && *not_after_ > now) {
    const auto left = std::chrono::duration_cast<ms>(*not_after_ - now);
    delay = std::min(delay, std::max(left / 10, policy_.backoff_base));
  }
  next_ = now + delay;
  return *next_;
}

}  // namespace distls
