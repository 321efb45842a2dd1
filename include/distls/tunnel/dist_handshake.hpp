// The first frame of the Erlang distribution handshake, `send_name`, which the dialling
// node sends before anything else (erts "Distribution Handshake"). Inbound tunnels read
// it to learn which node name the peer claims, before any byte reaches the local node.
// Frames in the handshake carry a 2-byte big-endian length.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <variant>

namespace distls::dist {

// A node name is at most 255 bytes; the 'N' form adds 15 bytes of header.
inline constexpr std::size_t kMaxSendNameFrame = 512;

struct SendName {
  char tag = 'N';            // 'n' (version 5) or 'N' (version 6, OTP 23+)
  std::uint64_t flags = 0;
  std::uint32_t creation = 0;  // 'N' only
  std::uint16_t version = 0;   // 'n' only
  std::string name;
};

struct ParseError {
  std::string reason;  // short and stable: it becomes a metric label
};

// Parses a send_name frame body (after the 2-byte length).
std::variant<SendName, ParseError> parse_send_name(std::span<const std::uint8_t> body);

}  // namespace distls::dist
