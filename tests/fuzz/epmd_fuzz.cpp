// EPMD requests as the local listener reads them: a body of up to 1024 bytes from
// whatever connects to the EPMD port. Beyond "no crash": a request that parses encodes
// back to exactly the bytes it came from, and the names it carries are valid.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <variant>
#include <vector>

#include "distls/util/node_name.hpp"
#include "distls/epmd/epmd_protocol.hpp"

namespace {

using namespace distls::epmd;

void require(bool ok) {
  if (!ok) std::abort();
}

// The framed form of `body`: Length:2 then the body.
std::vector<std::uint8_t> framed(std::span<const std::uint8_t> body) {
  std::vector<std::uint8_t> out(2 + body.size());
  out[0] = static_cast<std::uint8_t>(body.size() >> 8);
  out[1] = static_cast<std::uint8_t>(body.size());
  std::copy(body.begin(), body.end(), out.begin() + 2);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> body(data, size);
  const auto parsed = parse_request(body);
  if (const auto* error = std::get_if<ParseError>(&parsed)) {
    require(!error->reason.empty());
    return 0;
  }
  const auto& request = std::get<Request>(parsed);
  if (const auto* a = std::get_if<Alive2Request>(&request)) {
    require(distls::valid_alive(a->name));
    require(encode_alive2_req(*a) == framed(body));
    // What the listener answers for a registered name, built from what was parsed.
    PortInfo info{a->port, a->node_type, a->protocol, a->highest_version, a->lowest_version, a->name, a->extra};
    const auto resp = encode_port2_resp(info);
    require(resp.size() == 14 + a->name.size() + a->extra.size());
    encode_names_resp(4369, {{a->name, a->port}});
    encode_peers_resp({a->name + "@localhost"});
  } else if (const auto* p = std::get_if<PortPlease2Request>(&request)) {
    require(p->name.find('@') == std::string::npos ? distls::valid_alive(p->name)
                                                   : distls::parse_node_name(p->name).has_value());
    require(encode_port_please2_req(p->name) == framed(body));
  } else if (const auto* r = std::get_if<RefusedRequest>(&request)) {
    require(r->code == body[0]);
  } else {
    require(size == 1);  // NAMES_REQ and the peers request have no arguments
  }
  return 0;
}
