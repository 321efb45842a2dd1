// `distls proxy`: assembles the EPMD-compatible listener, the per-peer loopback ports
// (and the socket directory's dial socket), the TLS listener and the admin server
// around one identity and one io_context.
#pragma once

#include <memory>
#include <optional>

#include <boost/asio/io_context.hpp>

#include "distls/renewal/file_watch.hpp"
#include "distls/k8s/csr_source.hpp"
#include "distls/x509/local_ca.hpp"
#include "distls/renewal/rotation.hpp"
#include "distls/admin/admin_server.hpp"
#include "distls/sidecar/config.hpp"
#include "distls/discovery/discovery.hpp"
#include "distls/epmd/epmd_service.hpp"
#include "distls/tls/identity_manager.hpp"
#include "distls/tunnel/inbound_listener.hpp"
#include "distls/epmd/node_registry.hpp"
#include "distls/epmd/dial_socket.hpp"
#include "distls/epmd/peer_listeners.hpp"
#include "distls/tunnel/proxy_context.hpp"

namespace distls {

class Sidecar {
 public:
  // Loads the identity and binds every listener; throws (with the option named) when
  // any of that fails, so that a bad configuration stops distls at startup.
  // Every coroutine it starts runs in `tasks`.
  Sidecar(boost::asio::io_context& io, EventLoops& loops, const ProxyConfig& config, Logger& log, Metrics& metrics,
          Tasks& tasks);

  void start();
  // Stops accepting (TLS, EPMD, per-peer ports, admin) and every loop (discovery,
  // renewal, file watch, DNS); live sessions go on until close_all().
  void stop();
  // Closes every live session (tunnels, handshakes, EPMD registrations, admin
  // connections); their coroutines end at their next step. Returns how many.
  std::size_t close_all();
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
  // Where peers' tunnels reach the local node: its EPMD registration, a port on the
  // loopback it registered from or (port 0) its socket in --socket-dir.
  std::optional<NodeAddress> node_address() const;

  const ProxyConfig config_;
  Logger& log_;
  Metrics& metrics_;
  Tasks& tasks_;
  Sessions sessions_;
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
  PeerListeners listeners_;
  std::optional<DialSocket> dial_socket_;  // --socket-dir
  std::optional<Discovery> discovery_;
  InboundListener inbound_;
  EpmdService epmd_;
  std::optional<AdminServer> admin_;
};


}  // namespace distls
