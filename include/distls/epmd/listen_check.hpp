// Whether a local TCP port listens beyond loopback, read from /proc/net/tcp{,6} of our
// network namespace (a pod's containers share it). distls refuses to front a node whose
// distribution port anyone on the network could reach around the TLS.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace distls {

// The first non-loopback address listening on `port` ("0.0.0.0", "::", "10.0.0.5"),
// or nullopt when every listener on it is loopback-only (or none is found).
std::optional<std::string> exposed_listener(std::uint16_t port, const std::string& proc_net = "/proc/net");

// Parses one /proc/net/tcp or tcp6 table; exposed for tests.
std::optional<std::string> exposed_listener_in(const std::string& table, std::uint16_t port, bool v6);

}  // namespace distls
