// `distls proxy` configuration: the command line and DISTLS_* environment, and the value
// parsers behind it (durations, endpoints, discovery specs), which also see what DNS
// discovery answers. The input is one word per line: "DISTLS_NAME=value" lines are the
// environment, every other line is a command-line word (so "--node" then "app@h", or
// "--node=app@h").
//
// ConfigError (and std::invalid_argument from parse_discovery) is the expected answer to
// bad input; anything else escaping is a finding. Beyond that: a duration formats and
// parses back to itself, a parsed endpoint reads back the same, and every node name
// discovery produces is a valid one.
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "distls/util/duration.hpp"
#include "distls/util/listen.hpp"
#include "distls/util/node_name.hpp"
#include "distls/util/options.hpp"
#include "distls/sidecar/config.hpp"
#include "distls/discovery/discovery.hpp"

namespace {

using namespace distls;

void require(bool ok) {
  if (!ok) std::abort();
}

void check_value(std::string_view v) {
  if (const auto d = parse_duration(v)) {
    require(d->count() > 0);
    require(parse_duration(format_duration(*d)) == d);
  }
  if (const auto ep = parse_endpoint(v)) {
    // What distls prints an endpoint as (its logs, --help) reads back as the same one.
    const auto again = parse_endpoint(distls::to_string(*ep));
    require(again && *again == *ep);
  }
  try {
    const DiscoveryConfig c = parse_discovery(v);
    for (const auto& n : c.static_nodes) require(parse_node_name(n).has_value());
    // Whatever a DNS server answers for it, discovery yields only valid node names.
    DnsAnswer answer;
    answer.targets.push_back({std::string(v), 4370, 0, 0});
    answer.targets.push_back({c.name, 4370, 0, 0});
    answer.addresses.push_back(boost::asio::ip::make_address("10.0.0.5"));
    for (auto cfg : {c, DiscoveryConfig{DiscoveryConfig::Kind::dns_srv, c.name, {}, "app", {}}}) {
      if (cfg.basename.empty()) cfg.basename = "app";
      for (const auto& n : nodes_from_answer(cfg, answer, "app@10.0.0.5")) require(parse_node_name(n).has_value());
    }
  } catch (const std::invalid_argument&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> args;
  std::map<std::string, std::string> env;
  for (std::size_t start = 0; start <= text.size();) {
    auto end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const auto word = text.substr(start, end - start);
    start = end + 1;
    const auto eq = word.find('=');
    if (word.starts_with("DISTLS_") && eq != std::string_view::npos)
      env[std::string(word.substr(0, eq))] = std::string(word.substr(eq + 1));
    else
      args.emplace_back(word);
    check_value(eq == std::string_view::npos ? word : word.substr(eq + 1));
  }
  const EnvLookup lookup = [&](const std::string& name) -> std::optional<std::string> {
    const auto it = env.find(name);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  try {
    const ProxyConfig c = parse_proxy_config(args, lookup);
    require(valid_alive(c.node.alive) && !c.discovery.basename.empty());
    require(c.cert_ttl.count() > 0 && c.handshake_timeout.count() > 0 && c.max_connections > 0);
  } catch (const ConfigError&) {
  }
  return 0;
}
