// A tunnel splices a plain loopback connection (the local Erlang node) and a TLS
// connection (a peer's distls). Two pumps, one per direction, each with one reused
// buffer: a pump reads only after its last write completed, so backpressure reaches the
// sender and memory per tunnel is bounded by two buffers plus OpenSSL's records.
#pragma once

#include <cstdint>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "distls/tls/tls_stream.hpp"

namespace distls {

// Large enough to take a 64 KiB distribution message and its header in one read.
inline constexpr std::size_t kPumpBufferSize = 128 * 1024;

struct TunnelCounters {
  std::uint64_t& plain_to_tls;  // bytes sent to the peer
  std::uint64_t& tls_to_plain;  // bytes received from the peer
};

struct TunnelResult {
  std::uint64_t sent = 0;
  std::uint64_t received = 0;
  std::string end;  // "closed" when both sides finished cleanly, else the first error
};

// Runs until both directions are closed, or either fails (then both are closed).
// `initial_to_plain` is written to the plain side first: the handshake frame an inbound
// tunnel had to read to check the peer's name.
asio::awaitable<TunnelResult> splice(tcp::socket& plain, TlsStream& tls, TunnelCounters counters,
                                     asio::const_buffer initial_to_plain = {});

}  // namespace distls
