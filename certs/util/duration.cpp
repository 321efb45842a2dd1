#include "distls/util/duration.hpp"

#include <array>
#include <cstdint>

namespace distls {
namespace {

struct Unit {
  char name;
  std::uint64_t seconds;
};

// Largest first: parsing requires this order and formatting emits it.
constexpr std::array<Unit, 4> kUnits{{{'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}}};

// 100 Julian years: far beyond any TTL we issue, yet small enough that adding it to
// now() cannot overflow time_t or ASN1_TIME anywhere downstream.
constexpr std::uint64_t kMaxSeconds = 36525ULL * 86400;

}  // namespace

std::optional<std::chrono::seconds> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::uint64_t total = 0;
  std::size_t next_unit = 0;  // index into kUnits of the smallest unit still allowed
  std::size_t i = 0;
  while (i < text.size()) {
    std::uint64_t n = 0;
    const std::size_t digits_start = i;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
      n = n * 10 + static_cast<std::uint64_t>(text[i] - '0');
      // Checked per digit so that a long digit string cannot wrap the accumulator.
      if (n > kMaxSeconds) return std::nullopt;
    }
    if (i == digits_start || i == text.size()) return std::nullopt;  // no number, or no unit
    const char u = text[i++];
    std::size_t k = next_unit;
    while (k < kUnits.size() && kUnits[k].name != u) ++k;
    if (k == kUnits.size()) return std::nullopt;  // unknown, repeated or out-of-order unit
    next_unit = k + 1;
    if (n > kMaxSeconds / kUnits[k].seconds) return std::nullopt;
    total += n * kUnits[k].seconds;
    if (total > kMaxSeconds) return std::nullopt;
  }
  if (total == 0) return std::nullopt;
  return std::chrono::seconds(static_cast<std::chrono::seconds::rep>(total));
}

std::string format_duration(std::chrono::seconds d) {
  if (d.count() == 0) return "0s";
  std::string out;
  // Magnitude computed unsigned so that seconds::min() does not overflow on negation.
  std::uint64_t rest = static_cast<std::uint64_t>(d.count());
  if (d.count() < 0) {
    out = "-";
    rest = ~rest + 1;
  }
  for (const Unit& u : kUnits) {
    if (rest >= u.seconds) {
      out += std::to_string(rest / u.seconds);
      out += u.name;
      rest %= u.seconds;
    }
  }
  return out;
}

}  // namespace distls
