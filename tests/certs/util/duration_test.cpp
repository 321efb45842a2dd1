#include "distls/util/duration.hpp"

#include <gtest/gtest.h>

namespace distls {
namespace {

using std::chrono::seconds;

struct Good {
  const char* text;
  long long secs;
};

TEST(Duration, Accepts) {
  const Good cases[] = {
      {"30s", 30},           {"10m", 600},         {"1h", 3600},
      {"87600h", 315360000}, {"1h30m", 5400},      {"2d", 172800},
      {"1d2h3m4s", 93784},   {"90s", 90},          {"0h5m", 300},
      {"36525d", 3155760000}, {"876000h", 3153600000},
  };
  for (const Good& c : cases) {
    const auto d = parse_duration(c.text);
    ASSERT_TRUE(d.has_value()) << c.text;
    EXPECT_EQ(d->count(), c.secs) << c.text;
  }
}

TEST(Duration, Rejects) {
  const char* cases[] = {
      "",         "-1h",    "+1h",    "0s",    "0h0m",   "1",      "h",
      "1x",       "1h 30m", " 1h",    "1h ",   "1h30",   "30m1h",  "1h1h",
      "36526d",   "876601h", "99999999999999999999999s", "1.5h",   "1H",
      "1ms",      "d",      "1hm",
  };
  for (const char* c : cases) EXPECT_FALSE(parse_duration(c).has_value()) << '"' << c << '"';
}

TEST(Duration, Formats) {
  EXPECT_EQ(format_duration(seconds(0)), "0s");
  EXPECT_EQ(format_duration(seconds(30)), "30s");
  EXPECT_EQ(format_duration(seconds(3600)), "1h");
  EXPECT_EQ(format_duration(seconds(5400)), "1h30m");
  EXPECT_EQ(format_duration(seconds(90061)), "1d1h1m1s");
  EXPECT_EQ(format_duration(seconds(-90)), "-1m30s");
  EXPECT_FALSE(format_duration(seconds::min()).empty());
}

TEST(Duration, FormatParsesBack) {
  for (long long s : {1LL, 59LL, 61LL, 3599LL, 86400LL, 93784LL, 315360000LL}) {
    const auto back = parse_duration(format_duration(seconds(s)));
    ASSERT_TRUE(back.has_value()) << s;
    EXPECT_EQ(back->count(), s);
  }
}

}  // namespace
}  // namespace distls
