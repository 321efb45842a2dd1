// The EPMD wire protocol (erts/doc/src/erl_dist_protocol.xml, "EPMD Protocol"): parsing
// of requests and encoding of replies, free of I/O so that every byte is unit-tested.
// A request is a 2-byte big-endian length followed by that many bytes, the first of
// which is the request code.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace distls::epmd {

inline constexpr std::uint8_t kAlive2Req = 120;      // 'x'
inline constexpr std::uint8_t kAlive2Resp = 121;     // 'y'
inline constexpr std::uint8_t kAlive2XResp = 118;    // 'v'
inline constexpr std::uint8_t kPortPlease2Req = 122; // 'z'
inline constexpr std::uint8_t kPort2Resp = 119;      // 'w'
inline constexpr std::uint8_t kNamesReq = 110;       // 'n'
inline constexpr std::uint8_t kDumpReq = 100;        // 'd'
inline constexpr std::uint8_t kKillReq = 107;        // 'k'
inline constexpr std::uint8_t kStopReq = 115;        // 's'
// distls's one extension: the discovered peer set (docs/discovery.md). 'D' is unused by
// epmd, old or new.
inline constexpr std::uint8_t kDistlsPeersReq = 68;  // 'D'

// epmd's own input buffer is 1024 bytes; nothing legitimate is longer.
inline constexpr std::size_t kMaxRequestLength = 1024;

struct Alive2Request {
  std::uint16_t port = 0;
  std::uint8_t node_type = 77;  // 77 normal, 72 hidden
  std::uint8_t protocol = 0;    // 0 = TCP/IPv4
  std::uint16_t highest_version = 6;
  std::uint16_t lowest_version = 5;
  std::string name;
  std::string extra;
  friend bool operator==(const Alive2Request&, const Alive2Request&) = default;
};

struct PortPlease2Request {
  std::string name;  // alive name, or (distls extension) a full node name alive@host
  friend bool operator==(const PortPlease2Request&, const PortPlease2Request&) = default;
};

struct NamesRequest {
  friend bool operator==(const NamesRequest&, const NamesRequest&) = default;
};

// Requests epmd honours only in debug mode or from localhost; distls never does.
struct RefusedRequest {
  std::uint8_t code = 0;
  friend bool operator==(const RefusedRequest&, const RefusedRequest&) = default;
};

struct PeersRequest {
  friend bool operator==(const PeersRequest&, const PeersRequest&) = default;
};

using Request = std::variant<Alive2Request, PortPlease2Request, NamesRequest, RefusedRequest, PeersRequest>;

struct ParseError {
  std::string reason;  // short and stable: it becomes a metric label
};

// Parses one request body (the bytes after the 2-byte length).
std::variant<Request, ParseError> parse_request(std::span<const std::uint8_t> body);

// Replies.
std::vector<std::uint8_t> encode_alive2_resp(bool ok, std::uint32_t creation, bool extended);

struct PortInfo {
  std::uint16_t port = 0;
  std::uint8_t node_type = 77;
  std::uint8_t protocol = 0;
  std::uint16_t highest_version = 6;
  std::uint16_t lowest_version = 5;
  std::string name;
  std::string extra;
};
// `info` empty → the "not found" reply (result 1).
std::vector<std::uint8_t> encode_port2_resp(const std::optional<PortInfo>& info);

struct NameEntry {
  std::string name;
  std::uint16_t port;
};
std::vector<std::uint8_t> encode_names_resp(std::uint16_t epmd_port,
                                            const std::vector<NameEntry>& names);

// 'D', Count:2, then Count times NameLen:2 Name. Names beyond 65535 are not sent.
std::vector<std::uint8_t> encode_peers_resp(const std::vector<std::string>& nodes);

// Request builders, used by tests and by clients of the listener.
std::vector<std::uint8_t> encode_alive2_req(const Alive2Request& r);
std::vector<std::uint8_t> encode_port_please2_req(std::string_view name);

}  // namespace distls::epmd
