#include "distls/epmd/epmd_protocol.hpp"

#include <algorithm>

#include "distls/util/node_name.hpp"

namespace distls::epmd {
namespace {

class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> b) : b_(b) {}
  bool u8(std::uint8_t& v) {
    if (b_.size() < 1) return false;
    v = b_[0];
    b_ = b_.subspan(1);
    return true;
  }
  bool u16(std::uint16_t& v) {
    if (b_.size() < 2) return false;
    v = static_cast<std::uint16_t>(b_[0] << 8 | b_[1]);
    b_ = b_.subspan(2);
    return true;
  }
  bool bytes(std::size_t n, std::string& out) {
    if (b_.size() < n) return false;
    out.assign(reinterpret_cast<const char*>(b_.data()), n);
    b_ = b_.subspan(n);
    return true;
  }
  std::size_t left() const { return b_.size(); }

 private:
  std::span<const std::uint8_t> b_;
};

void put16(std::vector<std::uint8_t>& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}
void put32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<std::uint8_t>(v >> s));
}
void put_bytes(std::vector<std::uint8_t>& out, std::string_view s) { out.insert(out.end(), s.begin(), s.end()); }

std::variant<Request, ParseError> parse_alive2(Reader& r) {
  Alive2Request a;
  std::uint16_t nlen = 0, elen = 0;
  if (!r.u16(a.port) || !r.u8(a.node_type) || !r.u8(a.protocol) || !r.u16(a.highest_version) ||
      !r.u16(a.lowest_version) || !r.u16(nlen) || !r.bytes(nlen, a.name) || !r.u16(elen) ||
      !r.bytes(elen, a.extra))
    return ParseError{"alive2_truncated"};
  if (r.left() != 0) return ParseError{"alive2_trailing_bytes"};
  if (!valid_alive(a.name)) return ParseError{"alive2_bad_name"};
  if (a.lowest_version > a.highest_version) return ParseError{"alive2_bad_versions"};
  return Request{std::move(a)};
}

}  // namespace

std::variant<Request, ParseError> parse_request(std::span<const std::uint8_t> body) {
  if (body.empty()) return ParseError{"empty"};
  if (body.size() > kMaxRequestLength) return ParseError{"oversized"};
  Reader r(body.subspan(1));
  switch (body[0]) {
    case kAlive2Req:
      return parse_alive2(r);
    case kPortPlease2Req: {
      PortPlease2Request p;
      r.bytes(r.left(), p.name);
      const bool full = p.name.find('@') != std::string::npos;
      if (full ? !parse_node_name(p.name) : !valid_alive(p.name))
        return ParseError{"port_please_bad_name"};
      return Request{std::move(p)};
    }
    case kNamesReq:
      if (r.left() != 0) return ParseError{"names_trailing_bytes"};
      return Request{NamesRequest{}};
    case kDistlsPeersReq:
      if (r.left() != 0) return ParseError{"peers_trailing_bytes"};
      return Request{PeersRequest{}};
    case kDumpReq:
    case kKillReq:
    case kStopReq:
      return Request{RefusedRequest{body[0]}};
    default:
      return ParseError{"unknown_request"};
  }
}

std::vector<std::uint8_t> encode_alive2_resp(bool ok, std::uint32_t creation, bool extended) {
  std::vector<std::uint8_t> out;
  out.push_back(extended ? kAlive2XResp : kAlive2Resp);
  out.push_back(ok ? 0 : 1);
  if (extended)
    put32(out, creation);
  else
    put16(out, static_cast<std::uint16_t>(creation));
  return out;
}

std::vector<std::uint8_t> encode_port2_resp(const std::optional<PortInfo>& info) {
  std::vector<std::uint8_t> out{kPort2Resp};
  if (!info) {
    out.push_back(1);
    return out;
  }
  out.push_back(0);
  put16(out, info->port);
  out.push_back(info->node_type);
  out.push_back(info->protocol);
  put16(out, info->highest_version);
  put16(out, info->lowest_version);
  put16(out, static_cast<std::uint16_t>(info->name.size()));
  put_bytes(out, info->name);
  put16(out, static_cast<std::uint16_t>(info->extra.size()));
  put_bytes(out, info->extra);
  return out;
}

std::vector<std::uint8_t> encode_names_resp(std::uint16_t epmd_port,
                                            const std::vector<NameEntry>& names) {
  std::vector<std::uint8_t> out;
  put32(out, epmd_port);
  for (const auto& n : names)
    put_bytes(out, "name " + n.name + " at port " + std::to_string(n.port) + "\n");
  return out;
}

std::vector<std::uint8_t> encode_peers_resp(const std::vector<std::string>& nodes) {
  std::vector<std::uint8_t> out{kDistlsPeersReq};
  const auto count = std::min<std::size_t>(nodes.size(), 0xffff);
  put16(out, static_cast<std::uint16_t>(count));
  for (std::size_t i = 0; i < count; ++i) {
    put16(out, static_cast<std::uint16_t>(nodes[i].size()));
    put_bytes(out, nodes[i]);
  }
  return out;
}

std::vector<std::uint8_t> encode_alive2_req(const Alive2Request& a) {
  std::vector<std::uint8_t> body{kAlive2Req};
  put16(body, a.port);
  body.push_back(a.node_type);
  body.push_back(a.protocol);
  put16(body, a.highest_version);
  put16(body, a.lowest_version);
  put16(body, static_cast<std::uint16_t>(a.name.size()));
  put_bytes(body, a.name);
  put16(body, static_cast<std::uint16_t>(a.extra.size()));
  put_bytes(body, a.extra);
  std::vector<std::uint8_t> out;
  put16(out, static_cast<std::uint16_t>(body.size()));
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

std::vector<std::uint8_t> encode_port_please2_req(std::string_view name) {
  std::vector<std::uint8_t> out;
  put16(out, static_cast<std::uint16_t>(name.size() + 1));
  out.push_back(kPortPlease2Req);
  put_bytes(out, name);
  return out;
}

}  // namespace distls::epmd
