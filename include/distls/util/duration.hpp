// Durations as users write them on the command line: "30s", "10m", "1h30m", "2d".
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace distls {

// One or more <digits><unit> groups, units d (24h), h, m, s, each at most once and largest
// first. Rejects empty input, signs, spaces, a missing unit, zero (every distls duration is
// a lifetime, an interval or a deadline, where zero means a mistake) and anything over 100
// years. Returns nullopt on any of these.
std::optional<std::chrono::seconds> parse_duration(std::string_view text);

// The inverse, largest units first with zero groups left out: 90061s -> "1d1h1m1s",
// 0 -> "0s". parse_duration(format_duration(d)) == d for every d it accepts.
std::string format_duration(std::chrono::seconds d);

}  // namespace distls
