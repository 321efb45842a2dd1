#include "distls/util/backoff.hpp"

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using distls::Backoff;

TEST(Backoff, DoublesFromTheBaseUpToTheCap) {
  Backoff b(100ms, 1000ms);
  EXPECT_EQ(b.next(1.0), 100ms);
  EXPECT_EQ(b.next(1.0), 200ms);
  EXPECT_EQ(b.next(1.0), 400ms);
  EXPECT_EQ(b.next(1.0), 800ms);
  EXPECT_EQ(b.next(1.0), 1000ms);
  EXPECT_EQ(b.next(1.0), 1000ms);
  EXPECT_EQ(b.failures(), 6u);
}

TEST(Backoff, HalfOfEachDelayIsFixedAndHalfRandom) {
  Backoff low(1000ms, 60s), high(1000ms, 60s);
  EXPECT_EQ(low.next(0.0), 500ms);
  EXPECT_EQ(high.next(0.5), 750ms);
  // Out-of-range randomness is clamped rather than trusted.
  Backoff wild(1000ms, 60s);
  EXPECT_EQ(wild.next(-3.0), 500ms);
  EXPECT_EQ(wild.next(7.0), 2000ms);
}

TEST(Backoff, OddDelaysKeepTheirLastMillisecond) {
  Backoff b(5ms, 5ms);
  EXPECT_EQ(b.next(1.0), 5ms);
  EXPECT_EQ(b.next(0.0), 2ms);
}

TEST(Backoff, ResetStartsAgainFromTheBase) {
  Backoff b(10ms, 10s);
  for (int i = 0; i < 40; ++i) b.next(1.0);  // far past any overflow of 2^n
  EXPECT_EQ(b.next(1.0), 10s);
  b.reset();
  EXPECT_EQ(b.failures(), 0u);
  EXPECT_EQ(b.next(1.0), 10ms);
}

TEST(Backoff, ACapBelowTheBaseMeansTheBase) {
  Backoff b(300ms, 100ms);
  EXPECT_EQ(b.next(1.0), 300ms);
  EXPECT_EQ(b.next(1.0), 300ms);
}
