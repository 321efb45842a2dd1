// `distls proxy` configuration: command-line options, each with an environment variable
// (--cert-ttl → DISTLS_CERT_TTL); the command line wins. A bad value is a ConfigError
// naming the option and why, and distls exits at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/tcp.hpp>

#include "distls/util/node_name.hpp"
#include "distls/util/options.hpp"
#include "distls/util/log.hpp"
#include "distls/admin/admin_server.hpp"
#include "distls/discovery/discovery.hpp"
#include "distls/tls/tls_context.hpp"

namespace distls {

struct ProxyConfig {
  NodeName node;
  boost::asio::ip::tcp::endpoint listen{boost::asio::ip::address_v4::any(), 4370};
  std::uint16_t peer_port = 4370;
  boost::asio::ip::tcp::endpoint epmd{boost::asio::ip::address_v4::loopback(), 4369};
  std::string socket_dir;  // Unix sockets to the node; empty: loopback TCP only
  std::optional<boost::asio::ip::tcp::endpoint> admin{
      boost::asio::ip::tcp::endpoint{boost::asio::ip::address_v4::loopback(), 9901}};
  AdminExposure admin_expose = AdminExposure::probes;
  std::string cert_source = "file";
  std::string cert_file, key_file, trust_bundle_file;  // file (trust bundle: every source)
  std::string ca_cert_file, ca_key_file;                // local-ca
  std::chrono::seconds cert_ttl{3600};                  // local-ca
  std::vector<std::string> uri_sans;                    // extra URI SANs in requested certs
  std::string signer_name = "distls.io/erlang-dist";    // k8s-csr
  std::string kubeconfig, kube_context;                 // k8s-csr; empty: in-cluster
  std::string trust_domain, service_account;           // k8s-csr: the SPIFFE URI SAN
  std::string pod_namespace;                            // k8s-csr: overrides the kubeconfig's
  std::chrono::seconds reload_interval{5};
  DiscoveryConfig discovery;  // basename defaults to the alive part of --node
  std::string dns_server;     // "IP[:PORT],..."; empty: /etc/resolv.conf
  TlsOptions tls;
  std::chrono::seconds handshake_timeout{10};
  std::chrono::seconds peer_idle_timeout{300};
  std::size_t max_connections = 4096;
  std::size_t max_outbound = 4096;
  std::size_t threads = 0;  // --threads; 0: EventLoops::default_threads()
  bool check_source = true;
  double handshake_rate = 20;
  std::vector<std::string> allow_peers;
  std::chrono::seconds drain_timeout{10};
  bool log_json = false;
  LogLevel log_level = LogLevel::info;
};

using OptionSpec = Option<ProxyConfig>;

const std::vector<OptionSpec>& proxy_options();
std::string proxy_usage();

// Throws ConfigError("--opt: reason"). `args` are the words after "proxy".
ProxyConfig parse_proxy_config(const std::vector<std::string>& args, const EnvLookup& env);

// "127.0.0.1:4369", "[::1]:4369", "0.0.0.0:4370"; IP literals only.
std::optional<boost::asio::ip::tcp::endpoint> parse_endpoint(std::string_view text);

}  // namespace distls
