// What every part of the proxy needs from main: where to log and count, the TLS
// configuration in force, and the limits. Built once by Proxy, passed by reference.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/ip/address.hpp>

#include "distls/util/node_name.hpp"
#include "distls/tunnel/connection_limiter.hpp"
#include "distls/tunnel/dns_resolver.hpp"
#include "distls/tunnel/peer_book.hpp"
#include "distls/util/event_loops.hpp"
#include "distls/util/log.hpp"
#include "distls/util/sessions.hpp"
#include "distls/util/tasks.hpp"
#include "distls/util/metrics.hpp"
#include "distls/tls/tls_provider.hpp"
#include "distls/tunnel/tunnel_registry.hpp"

namespace distls {

struct Limits {
  std::chrono::steady_clock::duration handshake_timeout = std::chrono::seconds(10);
  std::chrono::steady_clock::duration peer_idle_timeout = std::chrono::minutes(5);
  std::size_t max_connections = 4096;  // inbound: handshakes and tunnels from peers
  std::size_t max_outbound = 4096;     // outbound tunnels, a budget strangers cannot touch
  double handshake_rate = 20;  // new connections per second per source address (IPv6: per /64)
};

struct ProxyContext {
  Logger& log;
  Metrics& metrics;
  TlsProvider& tls;
  ConnectionLimiter& inbound_limiter;
  ConnectionLimiter& outbound_limiter;
  TunnelRegistry& tunnels;
  Tasks& tasks;        // every coroutine starts here
  Sessions& sessions;  // every live connection registers here
  EventLoops& loops;   // where established tunnels splice (--threads)
  DnsResolver& dns;
  PeerBook& book;
  Limits limits;
  NodeName self;             // --node
  std::uint16_t peer_port;   // --peer-port
  // Outbound tunnels leave from the --listen address when it is a specific one, so that
  // peers (and their logs) see this pod's address.
  std::optional<boost::asio::ip::address> source_address;
  std::vector<std::string> allow_peers;  // --allow-peer; empty: every verified peer
  // --check-source: an IP-named peer must dial from that IP (its certificate names the
  // address, so a tunnel from elsewhere is a stolen key or a relay).
  bool check_source = true;
  // --socket-dir: the node's Unix sockets (a registration with port 0 listens at
  // DIR/ALIVE.sock); empty: loopback TCP only.
  std::string socket_dir{};
};

// The TLS context for a new handshake, or why there is none to use: no identity yet, or
// one that expired without a renewal. Presenting an expired cert would only earn a
// refusal from the peer; refusing here says why in our own log.
inline std::shared_ptr<const TlsContext> usable_tls(ProxyContext& ctx, std::string& why_not) {
  return ctx.tls.usable(why_not);
}

// Counts a refused or failed connection under its reason; the log line is the caller's.
inline void count_failure(ProxyContext& ctx, std::string_view direction, std::string_view reason) {
  ctx.metrics.counter("distls_handshake_failures_total", {{"direction", direction}, {"reason", reason}})++;
}

}  // namespace distls
