#include "distls/tunnel/dist_handshake.hpp"

namespace distls::dist {
namespace {

std::uint64_t be(std::span<const std::uint8_t> b) {
  std::uint64_t v = 0;
  for (auto x : b) v = v << 8 | x;
  return v;
}

}  // namespace

std::variant<SendName, ParseError> parse_send_name(std::span<const std::uint8_t> body) {
  if (body.empty()) return ParseError{"empty_frame"};
  if (body.size() > kMaxSendNameFrame) return ParseError{"oversized_frame"};
  SendName s;
  s.tag = static_cast<char>(body[0]);
  if (s.tag == 'n') {
    // 'n' Version:2 Flags:4 Name
    if (body.size() < 1 + 2 + 4 + 1) return ParseError{"truncated_send_name"};
    s.version = static_cast<std::uint16_t>(be(body.subspan(1, 2)));
    s.flags = be(body.subspan(3, 4));
    s.name.assign(reinterpret_cast<const char*>(body.data() + 7), body.size() - 7);
  } else if (s.tag == 'N') {
    // 'N' Flags:8 Creation:4 NLen:2 Name
    if (body.size() < 1 + 8 + 4 + 2) return ParseError{"truncated_send_name"};
    s.flags = be(body.subspan(1, 8));
    s.creation = static_cast<std::uint32_t>(be(body.subspan(9, 4)));
    const auto nlen = be(body.subspan(13, 2));
    if (nlen == 0 || 15 + nlen > body.size()) return ParseError{"truncated_send_name"};
    // dist_util:recv_name_new/2 ignores bytes after the name; so do we.
    s.name.assign(reinterpret_cast<const char*>(body.data() + 15), nlen);
  } else {
    return ParseError{"not_send_name"};
  }
  return s;
}

}  // namespace distls::dist
