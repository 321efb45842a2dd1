// The discovery loop: every --refresh (jittered) it resolves the configured source into
// a set of node names and publishes it in the PeerBook, where the Erlang side picks it
// up. A failed lookup (NXDOMAIN, SERVFAIL, timeout, an empty answer) keeps the last
// good set: a DNS hiccup must not make a healthy cluster forget its members.
#pragma once

#include <chrono>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "distls/tunnel/dns_resolver.hpp"
#include "distls/tunnel/peer_book.hpp"
#include "distls/tunnel/proxy_context.hpp"

namespace distls {

struct DiscoveryConfig {
  // dns_a: A records only, dns_aaaa: AAAA only, dns: both (as gen_cluster's record_type).
  enum class Kind { none, static_list, dns_a, dns_aaaa, dns, dns_srv };
  Kind kind = Kind::none;
  std::string name;                       // DNS name for the dns kinds
  std::vector<std::string> static_nodes;  // full node names for static
  std::string basename;                   // alive part of discovered nodes
  std::chrono::seconds refresh{5};
};

// Parses "static:a@h1,b@h2", "dns-a:NAME", "dns-aaaa:NAME", "dns:NAME", "dns-srv:NAME";
// throws ConfigError-style std::invalid_argument with the reason.
DiscoveryConfig parse_discovery(std::string_view spec);
// The spec again, as /peers shows it.
std::string describe(const DiscoveryConfig& cfg);

// The node names a DNS answer stands for (addresses: basename@IP; dns-srv: basename@target),
// without `self`. Exposed for tests.
std::set<std::string> nodes_from_answer(const DiscoveryConfig& cfg, const DnsAnswer& answer,
                                        const std::string& self);

class Discovery {
 public:
  Discovery(boost::asio::any_io_executor ex, ProxyContext& ctx, DnsResolver& dns, PeerBook& book,
            DiscoveryConfig cfg);
  void start();
  void stop();

 private:
  boost::asio::awaitable<void> run();
  boost::asio::awaitable<void> refresh_once();

  ProxyContext& ctx_;
  DnsResolver& dns_;
  PeerBook& book_;
  DiscoveryConfig cfg_;
  boost::asio::steady_timer timer_;
  std::mt19937 rng_{std::random_device{}()};
  bool stopped_ = false;
  bool had_good_set_ = false;  // a lookup has succeeded since start
};

}  // namespace distls
