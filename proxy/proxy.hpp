// `distls proxy`: assembles the EPMD-compatible listener, the per-peer loopback ports,
// the TLS listener and the admin server around one identity and one io_context.
#pragma once

#include <memory>
#include <optional>

#include <boost/asio/io_context.hpp>

#include "proxy/admin_server.hpp"
#include "proxy/config.hpp"
#include "proxy/epmd_service.hpp"
#include "proxy/inbound_listener.hpp"
#include "proxy/node_registry.hpp"
#include "proxy/peer_ports.hpp"
#include "proxy/proxy_context.hpp"

namespace distls {

class Proxy {
 public:
  // Loads the identity and binds every listener; throws (with the option named) when
  // any of that fails, so that a bad configuration stops distls at startup.
  Proxy(boost::asio::io_context& io, const ProxyConfig& config, Logger& log, Metrics& metrics);

  void start();
  void stop();

  bool ready(std::string& why_not) const;

 private:
  std::string certs_json() const;
  std::string peers_json() const;
  std::string metrics_text();

  const ProxyConfig config_;
  Logger& log_;
  Metrics& metrics_;
  TlsProvider tls_;
  ConnectionLimiter limiter_;
  ProxyContext ctx_;
  NodeRegistry registry_;
  PeerPorts peers_;
  InboundListener inbound_;
  EpmdService epmd_;
  std::optional<AdminServer> admin_;
};

int run_proxy_command(const std::vector<std::string>& args);

}  // namespace distls
