#include "distls/util/node_name.hpp"

#include <algorithm>
#include <cctype>

#include <arpa/inet.h>

namespace distls {
namespace {

bool valid_dns_name(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  std::size_t label = 0;
  char prev = '.';
  for (char c : host) {
    if (c == '.') {
      if (label == 0 || prev == '-') return false;
      label = 0;
    } else {
      const bool alnum = std::isalnum(static_cast<unsigned char>(c)) != 0;
      // Underscores are not LDH, but Erlang short names and some SRV targets use them.
      if (!alnum && c != '-' && c != '_') return false;
      if (label == 0 && c == '-') return false;
      if (++label > 63) return false;
    }
    prev = c;
  }
  return prev != '-' && prev != '.';
}

}  // namespace

bool is_ip_literal(std::string_view host) {
  if (host.empty() || host.size() >= INET6_ADDRSTRLEN) return false;
  std::string z(host);
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, z.c_str(), buf) == 1 || inet_pton(AF_INET6, z.c_str(), buf) == 1;
}

bool valid_alive(std::string_view alive) {
  if (alive.empty() || alive.size() > kMaxNodeNameLength) return false;
  return std::all_of(alive.begin(), alive.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f && c != '@';
  });
}

std::optional<NodeName> parse_node_name(std::string_view text) {
  if (text.size() > kMaxNodeNameLength) return std::nullopt;
  const auto at = text.find('@');
  if (at == std::string_view::npos) return std::nullopt;
  NodeName n;
  n.alive = std::string(text.substr(0, at));
  std::string_view host = text.substr(at + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (!valid_alive(n.alive)) return std::nullopt;
  n.host.reserve(host.size());
  for (char c : host) n.host.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  n.host_is_ip = is_ip_literal(n.host);
  if (!n.host_is_ip && !valid_dns_name(n.host)) return std::nullopt;
  return n;
}

}  // namespace distls
