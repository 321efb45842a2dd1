// The node's way out over a Unix socket (--socket-dir, `-proto_dist distls`): the Unix
// counterpart of PeerListeners. The node connects to DIR/distls.sock and sends one
// packet, a 2-byte length and the peer's full node name; then the distribution
// handshake follows on the same connection, which OutboundDialer tunnels to the peer.
// No lookup, no per-peer port: one socket file for every peer.
#pragma once

#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "distls/tunnel/outbound_dialer.hpp"
#include "distls/tunnel/proxy_context.hpp"
#include "distls/tunnel/socket_dir.hpp"

namespace distls {

class DialSocket {
 public:
  // Checks the directory and binds DIR/distls.sock; throws std::runtime_error naming
  // --socket-dir when either is wrong, so that distls stops at startup.
  DialSocket(boost::asio::any_io_executor ex, ProxyContext& ctx, const std::string& dir);
  ~DialSocket();

  void start();
  // Stops accepting and removes the socket file; tunnels go on until Sessions closes them.
  void stop();

 private:
  boost::asio::awaitable<void> serve(unix_stream::socket s);
  void refuse(std::string_view reason, const std::string& detail);

  ProxyContext& ctx_;
  std::string path_;
  unix_stream::acceptor acceptor_;
  OutboundDialer dialer_{ctx_};
};

}  // namespace distls
