// `distls proxy`: assembles the EPMD-compatible listener, the per-peer loopback ports,
// the TLS listener and the admin server around one identity and one io_context.
#pragma once

#include <memory>
#include <optional>

#include <boost/asio/io_context.hpp>

#include "distls/file_watch.hpp"
#include "distls/k8s_csr_source.hpp"
#include "distls/local_ca.hpp"
#include "distls/rotation.hpp"
#include "proxy/admin_server.hpp"
#include "proxy/config.hpp"
#include "proxy/discovery.hpp"
#include "proxy/epmd_service.hpp"
#include "proxy/identity_manager.hpp"
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
  // SIGHUP: look at the watched files now.
  void reload();

  bool ready(std::string& why_not) const;
  // Tunnels and handshakes still open (what a drain waits for).
  std::size_t active() const { return inbound_limiter_.active() + outbound_limiter_.active(); }

 private:
  void init_identity(boost::asio::io_context& io);
  std::variant<std::chrono::system_clock::time_point, std::string> renew_from_local_ca();
  std::variant<std::chrono::system_clock::time_point, std::string> install(certs::Leaf leaf, const std::string& origin);

  std::string certs_json() const;
  std::string peers_json() const;
  std::string metrics_text();
  void trust_changed(const TlsContext& now_trusted);

  const ProxyConfig config_;
  Logger& log_;
  Metrics& metrics_;
  TlsProvider tls_;
  IdentityManager identity_;
  std::optional<certs::LocalCa> local_ca_;
  std::optional<k8s::Client> k8s_;
  std::optional<k8s::CsrSource> csr_source_;
  std::optional<Rotation> rotation_;
  std::optional<FileWatch> watch_;
  ConnectionLimiter inbound_limiter_;
  ConnectionLimiter outbound_limiter_;
  TunnelRegistry tunnels_;
  DnsResolver dns_;
  PeerBook book_;
  ProxyContext ctx_;
  NodeRegistry registry_;
  PeerPorts peers_;
  std::optional<Discovery> discovery_;
  InboundListener inbound_;
  EpmdService epmd_;
  std::optional<AdminServer> admin_;
};

int run_proxy_command(const std::vector<std::string>& args);

}  // namespace distls
