// The first frame of an inbound tunnel: after the TLS handshake, distls reads the
// distribution handshake's send_name frame through TLS, exactly that frame and never
// more (what follows belongs to the local node and goes through the tunnel), and learns
// the node name the peer claims. The frame is kept, length prefix included, to be
// forwarded to the node first.
//
// A template over the TLS side (TlsStream's read_some and failure()) so that its tests
// can feed it in-memory streams; inbound_listener.cpp instantiates it for TlsStream.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>

#include "distls/tunnel/dist_handshake.hpp"
#include "distls/util/node_name.hpp"

namespace distls {

// What admission knows of an inbound connection so far.
struct Admission {
  std::string reason;  // empty while admitted; else a metric label
  std::string detail;
  std::optional<NodeName> node;
  std::vector<std::uint8_t> frame;  // the send_name frame, length prefix included
};

template <class Tls>
boost::asio::awaitable<Admission> read_send_name(Tls& tls) {
  namespace asio = boost::asio;
  Admission a;
  a.frame.resize(2);
  std::size_t got = 0;
  std::size_t want = 2;
  while (got < want) {
    auto [ec, n] = co_await tls.read_some(asio::buffer(a.frame.data() + got, want - got));
    if (ec) {
      a.reason = "peer_closed";
      a.detail = tls.failure().empty() ? ec.message() : tls.failure();
      co_return a;
    }
    got += n;
    if (got == 2 && want == 2) {
      const std::size_t len = a.frame[0] << 8 | a.frame[1];
      if (len == 0 || len > dist::kMaxSendNameFrame) {
        a.reason = "bad_send_name";
        a.detail = "frame length " + std::to_string(len);
        co_return a;
      }
      want = 2 + len;
      a.frame.resize(want);
    }
  }
  auto parsed = dist::parse_send_name(std::span(a.frame).subspan(2));
  if (auto* err = std::get_if<dist::ParseError>(&parsed)) {
    a.reason = "bad_send_name";
    a.detail = err->reason;
    co_return a;
  }
  const auto& name = std::get<dist::SendName>(parsed).name;
  a.node = parse_node_name(name);
  if (!a.node) {
    a.reason = "bad_send_name";
    a.detail = "not a full node name: " + name;
  }
  co_return a;
}

}  // namespace distls
