// Go's time.Parse for the two layouts the API's time types decode with: metav1.Time
// (time.RFC3339, "2006-01-02T15:04:05Z07:00") and metav1.MicroTime (RFC3339Micro,
// "2006-01-02T15:04:05.000000Z07:00"). Only the verdict and the error text matter here:
// the apiserver answers a value Go cannot parse with 400 and time.ParseError's message.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace distls::k8s_double {

inline constexpr std::string_view kRfc3339 = "2006-01-02T15:04:05Z07:00";
inline constexpr std::string_view kRfc3339Micro = "2006-01-02T15:04:05.000000Z07:00";

// nullopt when time.Parse(layout, value) succeeds; otherwise its error's text, e.g.
// `parsing time "x" as "2006-01-02T15:04:05Z07:00": cannot parse "x" as "2006"` or
// `parsing time "2024-13-01T00:00:00Z": month out of range`. `layout` is one of the two above.
std::optional<std::string> go_time_parse_error(std::string_view layout, std::string_view value);

}  // namespace distls::k8s_double
