// Kubernetes API timestamps: metav1.Time (RFC 3339, seconds) and metav1.MicroTime (RFC 3339
// with exactly six fractional digits, as Leases and Events carry).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace distls::k8s {

std::string api_time(std::chrono::system_clock::time_point t);   // 2026-11-30T16:00:00Z
std::string micro_time(std::chrono::system_clock::time_point t);  // 2026-11-30T16:00:00.123456Z

// RFC 3339 with an optional fraction and a Z or +hh:mm offset; nullopt otherwise.
std::optional<std::chrono::system_clock::time_point> parse_api_time(std::string_view text);

}  // namespace distls::k8s
