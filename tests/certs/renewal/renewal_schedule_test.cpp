#include "distls/renewal/renewal_schedule.hpp"

#include <gtest/gtest.h>

namespace distls {
namespace {

using namespace std::chrono_literals;
using tp = RenewalSchedule::time_point;

const tp t0 = tp{} + std::chrono::hours(24 * 365 * 50);  // any fixed "now": the clock is ours

TEST(RenewalSchedule, RenewsBetween70And90PercentOfTheLifetime) {
  RenewalSchedule s;
  EXPECT_EQ(s.on_success(t0, t0 + 100s, 0.0), t0 + 70s);
  EXPECT_EQ(s.on_success(t0, t0 + 100s, 1.0), t0 + 90s);
  EXPECT_EQ(s.on_success(t0, t0 + 100s, 0.5), t0 + 80s);
  for (double u = 0; u < 1; u += 0.01) {
    const auto at = s.on_success(t0, t0 + 1h, u);
    EXPECT_GE(at, t0 + 42min);
    EXPECT_LE(at, t0 + 54min);
  }
  EXPECT_EQ(s.not_after(), t0 + 1h);
  EXPECT_FALSE(s.expired(t0 + 59min));
  EXPECT_TRUE(s.expired(t0 + 1h));
}

TEST(RenewalSchedule, MeasuresFromWhenTheCertArrivedNotFromNotBefore) {
  // A 10 minute cert that arrives 4 minutes into its life (backdated, or slow issuer).
  RenewalSchedule s;
  const auto now = t0 + 4min;
  EXPECT_EQ(s.on_success(now, t0 + 10min, 0.0), now + 252s);  // 70% of the 6 minutes left
}

TEST(RenewalSchedule, BacksOffExponentiallyWithJitterUpToTheCap) {
  RenewalSchedule s(RenewalPolicy{0.7, 0.9, 1000ms, 60s});
  s.on_success(t0, t0 + 24h, 0.5);
  std::vector<std::chrono::milliseconds> low, high;
  for (int i = 0; i < 10; ++i) {
    RenewalSchedule a = s, b = s;
    for (int k = 0; k < i; ++k) {
      a.on_failure(t0, 0.0);
      b.on_failure(t0, 0.0);
    }
    low.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(a.on_failure(t0, 0.0) - t0));
    high.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(b.on_failure(t0, 0.999999) - t0));
  }
  EXPECT_EQ(low[0], 500ms);  // half fixed...
  EXPECT_NEAR(static_cast<double>(high[0].count()), 1000.0, 1.0);  // ...half random
  EXPECT_EQ(low[1], 1000ms);
  EXPECT_EQ(low[2], 2000ms);
  EXPECT_EQ(low[5], 16000ms);
  EXPECT_EQ(low[6], 30000ms);  // 64s capped at 60s, half of it fixed
  EXPECT_EQ(low[9], 30000ms);
  EXPECT_NEAR(static_cast<double>(high[9].count()), 60000.0, 1.0);
}

TEST(RenewalSchedule, SuccessResetsTheBackoff) {
  RenewalSchedule s;
  s.on_success(t0, t0 + 24h, 0.5);
  for (int i = 0; i < 6; ++i) s.on_failure(t0, 0.0);
  EXPECT_EQ(s.failures(), 6u);
  s.on_success(t0, t0 + 24h, 0.5);
  EXPECT_EQ(s.failures(), 0u);
  EXPECT_EQ(s.on_failure(t0, 0.0), t0 + 500ms);
}

TEST(RenewalSchedule, NearExpiryRetriesAtLeastEveryTenthOfWhatIsLeft) {
  RenewalSchedule s(RenewalPolicy{0.7, 0.9, 1000ms, 300s});
  s.on_success(t0, t0 + 100s, 0.5);
  for (int i = 0; i < 12; ++i) s.on_failure(t0 + 80s, 1.0);  // backoff would be minutes
  EXPECT_EQ(s.on_failure(t0 + 80s, 1.0), t0 + 82s);          // 20s left -> every 2s
  // Past expiry the plain backoff applies, and the identity counts as expired.
  EXPECT_TRUE(s.expired(t0 + 100s));
  EXPECT_GT(s.on_failure(t0 + 101s, 1.0), t0 + 200s);
}

TEST(RenewalSchedule, NoIdentityYetIsExpired) {
  RenewalSchedule s;
  EXPECT_TRUE(s.expired(t0));
  EXPECT_FALSE(s.next_attempt());
}

}  // namespace
}  // namespace distls
