// The EPMD-compatible local listener (--epmd). The node registers here as it would with
// epmd; its epmd module (distls_epmd) looks up FULL node names here and is answered with
// a per-peer loopback port that distls tunnels to that peer. Plain `epmd -names` and
// PORT_PLEASE2_REQ for local alive names work as with epmd.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "distls/epmd/node_registry.hpp"
#include "distls/epmd/peer_listeners.hpp"
#include "distls/tunnel/proxy_context.hpp"

namespace distls {

class EpmdService {
 public:
  // Binds at once; throws std::runtime_error naming --epmd when it cannot.
  EpmdService(boost::asio::any_io_executor ex, ProxyContext& ctx, NodeRegistry& registry, PeerListeners& listeners,
              const boost::asio::ip::tcp::endpoint& listen);

  void start();
  void stop();
  boost::asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }

 private:
  boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket s);
  // Answers ALIVE2 with a refusal, counted and logged with why.
  boost::asio::awaitable<void> refuse_registration(boost::asio::ip::tcp::socket& s, const epmd::Alive2Request& req,
                                                   std::string_view reason, const std::string& detail);
  boost::asio::awaitable<void> hold_registration(boost::asio::ip::tcp::socket& s, const epmd::Alive2Request& req,
                                                 const std::string& from);
  std::optional<epmd::PortInfo> lookup(const std::string& name, bool from_loopback, const std::string& from);
  void reject(std::string_view reason, const std::string& from, std::string_view detail = {});

  boost::asio::any_io_executor ex_;
  ProxyContext& ctx_;
  NodeRegistry& registry_;
  PeerListeners& listeners_;
  boost::asio::ip::tcp::acceptor acceptor_;
};

}  // namespace distls
