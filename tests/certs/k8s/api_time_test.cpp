#include "distls/k8s/api_time.hpp"

#include <gtest/gtest.h>

namespace distls::k8s {
namespace {

using namespace std::chrono;

TEST(ApiTime, WritesSecondsAndMicroseconds) {
  const auto t = system_clock::time_point(seconds(1764518400)) + microseconds(1234);  // 2025-11-30T16:00:00Z
  EXPECT_EQ(api_time(t), "2025-11-30T16:00:00Z");
  EXPECT_EQ(micro_time(t), "2025-11-30T16:00:00.001234Z");
}

TEST(ApiTime, ReadsRfc3339AsTheApiWritesIt) {
  const auto base = system_clock::time_point(seconds(1764518400));
  EXPECT_EQ(parse_api_time("2025-11-30T16:00:00Z"), base);
  EXPECT_EQ(parse_api_time("2025-11-30T16:00:00.5Z"), base + milliseconds(500));
  EXPECT_EQ(parse_api_time("2025-11-30T16:00:00.001234Z"), base + microseconds(1234));
  EXPECT_EQ(parse_api_time("2025-11-30T17:30:00+01:30"), base);
  EXPECT_EQ(parse_api_time("2025-11-30T14:00:00-02:00"), base);
  for (const char* bad : {"", "2025-11-30", "2025-11-30 16:00:00Z", "2025-13-30T16:00:00Z", "2025-11-30T16:00:00",
                          "2025-11-30T16:00:00.Z", "2025-11-30T16:00:00Zjunk", "yesterday"})
    EXPECT_FALSE(parse_api_time(bad)) << bad;
}

}  // namespace
}  // namespace distls::k8s
