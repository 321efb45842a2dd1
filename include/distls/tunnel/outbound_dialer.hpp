// The dialling half, as InboundListener is the answering one: a local node connected to a
// per-peer loopback port (or to the socket directory's dial socket, naming the peer);
// distls dials the peer's distls over TLS, checks that the certificate is the dialled
// host's (and the allow-list), and splices.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include "distls/tunnel/proxy_context.hpp"

namespace distls {

class OutboundDialer {
 public:
  explicit OutboundDialer(ProxyContext& ctx) : ctx_(ctx) {}

  // One tunnel, from the node's connection to its end. NodeSocket: tcp::socket or
  // local::stream_protocol::socket, both instantiated in outbound_dialer.cpp.
  template <class NodeSocket>
  boost::asio::awaitable<void> run(NodeSocket node, NodeName peer);

 private:
  ProxyContext& ctx_;
};

extern template boost::asio::awaitable<void> OutboundDialer::run(boost::asio::ip::tcp::socket, NodeName);
extern template boost::asio::awaitable<void> OutboundDialer::run(boost::asio::local::stream_protocol::socket, NodeName);

}  // namespace distls
