// The dialling half, as InboundListener is the answering one: a local node connected to a
// per-peer loopback port; distls dials the peer's distls over TLS, checks that the
// certificate is the dialled host's (and the allow-list), and splices.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "distls/tunnel/proxy_context.hpp"

namespace distls {

class OutboundDialer {
 public:
  explicit OutboundDialer(ProxyContext& ctx) : ctx_(ctx) {}

  // One tunnel, from the node's connection to its end.
  boost::asio::awaitable<void> run(boost::asio::ip::tcp::socket node, NodeName peer);

 private:
  ProxyContext& ctx_;
};

}  // namespace distls
