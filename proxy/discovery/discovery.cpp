#include "distls/discovery/discovery.hpp"

#include <stdexcept>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace distls {

namespace asio = boost::asio;

DiscoveryConfig parse_discovery(std::string_view spec) {
  DiscoveryConfig c;
  const auto colon = spec.find(':');
  if (colon == std::string_view::npos || colon + 1 == spec.size())
    throw std::invalid_argument("'" + std::string(spec) +
                                "' is not static:NODES, dns-a:NAME, dns-aaaa:NAME, dns:NAME or dns-srv:NAME");
  const auto kind = spec.substr(0, colon);
  const auto rest = spec.substr(colon + 1);
  if (kind == "static") {
    c.kind = DiscoveryConfig::Kind::static_list;
    std::size_t start = 0;
    while (start <= rest.size()) {
      auto end = rest.find(',', start);
      if (end == std::string_view::npos) end = rest.size();
      const auto item = rest.substr(start, end - start);
      const auto node = parse_node_name(item);
      if (!node) throw std::invalid_argument("'" + std::string(item) + "' is not a full node name such as app@10.0.0.5");
      c.static_nodes.push_back(node->full());
      start = end + 1;
    }
  } else if (kind == "dns-a" || kind == "dns-aaaa" || kind == "dns" || kind == "dns-srv") {
    c.kind = kind == "dns-a"      ? DiscoveryConfig::Kind::dns_a
             : kind == "dns-aaaa" ? DiscoveryConfig::Kind::dns_aaaa
             : kind == "dns"      ? DiscoveryConfig::Kind::dns
                                  : DiscoveryConfig::Kind::dns_srv;
    c.name = std::string(rest);
    if (!parse_node_name("x@" + c.name))
      throw std::invalid_argument("'" + c.name + "' is not a DNS name");
  } else {
    throw std::invalid_argument("'" + std::string(kind) +
                                "' is not a discovery kind (static, dns-a, dns-aaaa, dns, dns-srv)");
  }
  return c;
}

std::string describe(const DiscoveryConfig& cfg) {
  switch (cfg.kind) {
    case DiscoveryConfig::Kind::none: return "none";
    case DiscoveryConfig::Kind::static_list: return "static";
    case DiscoveryConfig::Kind::dns_a: return "dns-a:" + cfg.name;
    case DiscoveryConfig::Kind::dns_aaaa: return "dns-aaaa:" + cfg.name;
    case DiscoveryConfig::Kind::dns: return "dns:" + cfg.name;
    case DiscoveryConfig::Kind::dns_srv: return "dns-srv:" + cfg.name;
  }
  return "?";
}

std::set<std::string> nodes_from_answer(const DiscoveryConfig& cfg, const DnsAnswer& answer,
                                        const std::string& self) {
  std::set<std::string> out;
  auto add = [&](const std::string& host) {
    if (auto n = parse_node_name(cfg.basename + "@" + host); n && n->full() != self) out.insert(n->full());
  };
  if (cfg.kind == DiscoveryConfig::Kind::dns_srv)
    for (const auto& t : answer.targets) add(t.host);
  else
    for (const auto& a : answer.addresses) add(a.to_string());
  return out;
}

Discovery::Discovery(asio::any_io_executor ex, ProxyContext& ctx, DnsResolver& dns, PeerBook& book,
                     DiscoveryConfig cfg)
    : ctx_(ctx), dns_(dns), book_(book), cfg_(std::move(cfg)), timer_(ex) {
  ctx_.metrics.help("distls_discovery_refreshes_total", "Discovery lookups, by result");
  ctx_.metrics.help("distls_discovered_peers", "Peers in the discovered set");
  // A gauge from the start, not a sample-less `counter` while the first lookup fails.
  ctx_.metrics.gauge("distls_discovered_peers");
}

void Discovery::start() {
  // A static list is published once and the task ends; a DNS loop must not end.
  ctx_.tasks.spawn("discovery", run(),
                   cfg_.kind == DiscoveryConfig::Kind::static_list ? Tasks::Kind::optional : Tasks::Kind::essential);
}

void Discovery::stop() {
  stopped_ = true;
  timer_.cancel();
}

asio::awaitable<void> Discovery::refresh_once() {
  std::set<std::string> nodes;
  if (cfg_.kind == DiscoveryConfig::Kind::static_list) {
    for (const auto& n : cfg_.static_nodes)
      if (n != ctx_.self.full()) nodes.insert(n);
  } else {
    // Not a conditional expression: GCC 12 destroys a co_await result in ?: twice.
    DnsAnswer answer;
    if (cfg_.kind == DiscoveryConfig::Kind::dns_srv)
      answer = co_await dns_.srv(cfg_.name);
    else
      answer = co_await dns_.addresses(cfg_.name, cfg_.kind == DiscoveryConfig::Kind::dns_a      ? AddressFamilies::v4
                                                  : cfg_.kind == DiscoveryConfig::Kind::dns_aaaa ? AddressFamilies::v6
                                                                                                 : AddressFamilies::both);
    if (stopped_) co_return;
    // One family failing while the other answered (resolvers that refuse AAAA for
    // A-only names): before any good set, what answered beats an empty set forever;
    // after one, the last good set stands, as for any failure.
    const bool use_partial = answer.partial && !had_good_set_;
    if (!answer.ok()) {
      ctx_.metrics.counter("distls_discovery_refreshes_total", {{"result", answer.error}})++;
      ctx_.log.warn("discovery_failed", {{"name", cfg_.name}, {"reason", answer.error}, {"detail", answer.detail},
                                         {"kept_peers", book_.discovered().size()},
                                         {"used_partial_answer", use_partial ? "true" : "false"}});
      if (!use_partial) co_return;
    }
    nodes = nodes_from_answer(cfg_, answer, ctx_.self.full());
  }
  ctx_.metrics.counter("distls_discovery_refreshes_total", {{"result", "ok"}})++;
  had_good_set_ = true;
  const auto change = book_.set_discovered(nodes);
  ctx_.metrics.gauge("distls_discovered_peers") = static_cast<std::int64_t>(nodes.size());
  for (const auto& n : change.added) ctx_.log.info("peer_discovered", {{"peer", n}});
  for (const auto& n : change.removed) ctx_.log.info("peer_undiscovered", {{"peer", n}, {"detail", "kept if connected, not redialled"}});
}

asio::awaitable<void> Discovery::run() {
  while (!stopped_) {
    co_await refresh_once();
    if (stopped_ || cfg_.kind == DiscoveryConfig::Kind::static_list) co_return;
    // +-20% so that a fleet started together does not query together forever.
    std::uniform_real_distribution<double> jitter(0.8, 1.2);
    timer_.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(static_cast<double>(cfg_.refresh.count()) * jitter(rng_))));
    co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace distls
