// The TLS listener peers dial (--listen). Each connection must complete a mutual TLS
// handshake and then send the distribution handshake's first frame, whose node name
// must be one the client certificate names, all within --handshake-timeout; only then
// is a byte forwarded to the local node.
#pragma once

#include <functional>
#include <optional>
#include <variant>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include "distls/tunnel/lobby.hpp"
#include "distls/tunnel/proxy_context.hpp"
#include "distls/tunnel/rate_limiter.hpp"
#include "distls/tls/tls_stream.hpp"

namespace distls {

class TunnelLoop;

// Where the local node accepts distribution connections: a loopback port, or its Unix
// socket in the socket directory.
using NodeAddress = std::variant<boost::asio::ip::tcp::endpoint, boost::asio::local::stream_protocol::endpoint>;
// The node's address as of now (it may re-register elsewhere), or nullopt while no node
// is registered. The sidecar answers from the EPMD registry; the tunnel room does not
// know EPMD.
using FindNode = std::function<std::optional<NodeAddress>()>;

class InboundListener {
 public:
  // Binds and listens at once, so that a bad --listen fails at startup; throws
  // boost::system::system_error naming the address.
  InboundListener(boost::asio::any_io_executor ex, ProxyContext& ctx, FindNode find_node,
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
  // Connects to the node at `at` (TCP or Unix socket), then the tunnel until either
  // side ends.
  template <class Protocol>
  boost::asio::awaitable<void> splice_to_node(typename Protocol::endpoint at, TlsStream& tls, TunnelLoop& loop,
                                              const NodeName& peer, const std::string& from,
                                              const std::vector<std::uint8_t>& first_frame);

  boost::asio::any_io_executor ex_;
  ProxyContext& ctx_;
  FindNode find_node_;
  boost::asio::ip::tcp::acceptor acceptor_;
  RateLimiter rate_;
  std::uint64_t rate_limited_ = 0;
  Lobby lobby_;
};

}  // namespace distls
