// Per-peer loopback listeners. The local node learns, through a full-name
// PORT_PLEASE2_REQ, one loopback port per remote node; whatever connects there is
// tunnelled to that node's distls. A listener with no tunnel for --peer-idle-timeout is
// closed; the next lookup opens a new one.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "distls/tunnel/outbound_dialer.hpp"
#include "distls/tunnel/proxy_context.hpp"

namespace distls {

class PeerListeners {
 public:
  struct Info {
    std::string peer;
    std::uint16_t port;
    std::size_t active;
  };

  PeerListeners(boost::asio::any_io_executor ex, ProxyContext& ctx, boost::asio::ip::address loopback);

  // The loopback port for `peer`, opening its listener when there is none.
  std::optional<std::uint16_t> port_for(const NodeName& peer, boost::system::error_code& ec);
  std::vector<Info> list() const;
  void stop();

 private:
  struct Listener;
  boost::asio::awaitable<void> sweep_loop();
  boost::asio::awaitable<void> tunnel(std::shared_ptr<Listener> l, boost::asio::ip::tcp::socket s);

  boost::asio::any_io_executor ex_;
  ProxyContext& ctx_;
  OutboundDialer dialer_{ctx_};
  boost::asio::ip::address loopback_;
  std::map<std::string, std::shared_ptr<Listener>> listeners_;
  boost::asio::steady_timer sweep_timer_;
  bool sweeping_ = false;
};

}  // namespace distls
