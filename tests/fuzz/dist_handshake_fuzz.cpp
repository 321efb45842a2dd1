// The first frame of the Erlang distribution handshake, which the inbound listener reads
// from a TLS peer before any byte reaches the local node, and the node name it claims.
// The same input is also read as a node name on its own (as --node, EPMD and discovery
// give them). Beyond "no crash": a parsed node name reads back the same from its full().
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>
#include <variant>

#include "distls/util/node_name.hpp"
#include "distls/tunnel/dist_handshake.hpp"

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

void check_node_name(std::string_view text) {
  const auto n = distls::parse_node_name(text);
  if (!n) return;
  require(distls::valid_alive(n->alive) && !n->host.empty());
  require(n->host_is_ip == distls::is_ip_literal(n->host));
  const auto again = distls::parse_node_name(n->full());
  require(again && *again == *n);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> body(data, size);
  const auto parsed = distls::dist::parse_send_name(body);
  if (const auto* s = std::get_if<distls::dist::SendName>(&parsed)) {
    require(s->tag == 'n' || s->tag == 'N');
    require(s->name.size() <= size);
    check_node_name(s->name);
  } else {
    require(!std::get<distls::dist::ParseError>(parsed).reason.empty());
  }
  check_node_name(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
