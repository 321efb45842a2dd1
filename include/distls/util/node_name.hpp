// Erlang node names (`alive@host`) as distls sees them: the host part is the identity a
// peer's certificate must carry.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace distls {

struct NodeName {
  std::string alive;
  std::string host;  // lower-cased; IPv6 without brackets
  bool host_is_ip = false;

  std::string full() const { return alive + "@" + host; }
  friend bool operator==(const NodeName&, const NodeName&) = default;
};

// Erlang limits a node name to 255 bytes (MAXNODELEN in erts); epmd to the same.
inline constexpr std::size_t kMaxNodeNameLength = 255;

// Accepts `alive@host`, where alive is what epmd accepts (printable, no '@', no spaces)
// and host is an IPv4/IPv6 literal or a DNS name of LDH labels.
std::optional<NodeName> parse_node_name(std::string_view text);

// The alive part alone, as registered through ALIVE2_REQ.
bool valid_alive(std::string_view alive);

// True for IPv4 or IPv6 literal text (IPv6 without brackets).
bool is_ip_literal(std::string_view host);

}  // namespace distls
