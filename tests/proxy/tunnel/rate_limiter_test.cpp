#include "distls/tunnel/rate_limiter.hpp"

#include <gtest/gtest.h>

namespace distls {
namespace {

using namespace std::chrono_literals;

TEST(RateLimiter, BurstThenRatePerSource) {
  RateLimiter r(2, 4);
  const auto t0 = RateLimiter::clock::time_point{} + 1h;
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(r.allow("10.0.0.9", t0)) << i;
  EXPECT_FALSE(r.allow("10.0.0.9", t0));
  EXPECT_TRUE(r.allow("10.0.0.8", t0)) << "another source has its own bucket";
  EXPECT_FALSE(r.allow("10.0.0.9", t0 + 400ms));
  EXPECT_TRUE(r.allow("10.0.0.9", t0 + 500ms));  // one token per half second
  EXPECT_FALSE(r.allow("10.0.0.9", t0 + 500ms));
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(r.allow("10.0.0.9", t0 + 1h)) << "refilled to the burst, not beyond";
  EXPECT_FALSE(r.allow("10.0.0.9", t0 + 1h));
}

TEST(RateLimiter, ZeroDisablesAndTheTableStaysBounded) {
  RateLimiter off(0, 0);
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(off.allow("x", {}));
  RateLimiter r(10, 10);
  const auto t0 = RateLimiter::clock::time_point{} + 1h;
  for (int i = 0; i < 30000; ++i) r.allow("10.1." + std::to_string(i / 256) + "." + std::to_string(i % 256), t0 + std::chrono::seconds(i));
  EXPECT_LE(r.tracked(), 10001u);
}

}  // namespace
}  // namespace distls

namespace distls {
namespace {

TEST(RateLimiter, SourcesAreAddressesOrIpv6Slash64) {
  namespace ip = boost::asio::ip;
  EXPECT_EQ(RateLimiter::source_key(ip::make_address("10.0.0.9")), "10.0.0.9");
  EXPECT_EQ(RateLimiter::source_key(ip::make_address("::ffff:10.0.0.9")), "10.0.0.9");
  const auto a = RateLimiter::source_key(ip::make_address("2001:db8:1:2:aaaa::1"));
  EXPECT_EQ(a, "2001:db8:1:2::/64");
  EXPECT_EQ(RateLimiter::source_key(ip::make_address("2001:db8:1:2:ffff:ffff:ffff:fffe")), a)
      << "one host's /64 is one source";
  EXPECT_NE(RateLimiter::source_key(ip::make_address("2001:db8:1:3::1")), a);

  RateLimiter r(1, 2);
  const auto t0 = RateLimiter::clock::time_point{} + std::chrono::hours(1);
  int allowed = 0;
  for (int i = 0; i < 100; ++i)
    allowed += r.allow(RateLimiter::source_key(ip::make_address("2001:db8:1:2::" + std::to_string(i + 1))), t0);
  EXPECT_EQ(allowed, 2) << "a hundred addresses of one /64 share one burst";
}

}  // namespace
}  // namespace distls
