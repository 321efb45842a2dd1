// The TLS listener peers dial (--listen). Each connection must complete a mutual TLS
// handshake and then send the distribution handshake's first frame, whose node name
// must be one the client certificate names, all within --handshake-timeout; only then
// is a byte forwarded to the local node.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "distls/tunnel/lobby.hpp"
#include "distls/epmd/node_registry.hpp"
#include "distls/tunnel/proxy_context.hpp"
#include "distls/tunnel/rate_limiter.hpp"

namespace distls {

class InboundListener {
 public:
  // Binds and listens at once, so that a bad --listen fails at startup; throws
  // boost::system::system_error naming the address.
  InboundListener(boost::asio::any_io_executor ex, ProxyContext& ctx, const NodeRegistry& registry,
                  const boost::asio::ip::tcp::endpoint& listen);

  void start();
  void stop();
  boost::asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }

 private:
  // Rate and slot, then the lobby until the stranger's first byte.
  void welcome(boost::asio::ip::tcp::socket s);
  // The TLS handshake, the first frame and the checks, then the tunnel.
  boost::asio::awaitable<void> admit(boost::asio::ip::tcp::socket s, ConnectionLimiter::Slot slot,
                                     boost::asio::ip::tcp::endpoint remote,
                                     std::chrono::steady_clock::time_point deadline);
  // Connected to the node (TCP or Unix socket): the tunnel, until either side ends.
  template <class NodeSocket>
  boost::asio::awaitable<void> splice_to_node(NodeSocket& node, TlsStream& tls, const NodeName& peer,
                                              const std::string& from, const std::vector<std::uint8_t>& first_frame);

  boost::asio::any_io_executor ex_;
  ProxyContext& ctx_;
  const NodeRegistry& registry_;
  boost::asio::ip::tcp::acceptor acceptor_;
  RateLimiter rate_;
  std::uint64_t rate_limited_ = 0;
  Lobby lobby_;
};

}  // namespace distls
