#include "distls/epmd/peer_listeners.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "distls/util/accept_loop.hpp"
#include "distls/tunnel/outbound_dialer.hpp"

namespace distls {

namespace asio = boost::asio;
using asio::as_tuple;
using asio::use_awaitable;
using tcp = asio::ip::tcp;
using boost::system::error_code;

struct PeerListeners::Listener {
  NodeName peer;
  tcp::acceptor acceptor;
  std::uint16_t port = 0;
  std::size_t active = 0;
  std::chrono::steady_clock::time_point last_used = std::chrono::steady_clock::now();
};

PeerListeners::PeerListeners(asio::any_io_executor ex, ProxyContext& ctx, asio::ip::address loopback)
    : ex_(ex), ctx_(ctx), loopback_(loopback), sweep_timer_(ex) {}

std::optional<std::uint16_t> PeerListeners::port_for(const NodeName& peer, error_code& ec) {
  const auto key = peer.full();
  if (auto it = listeners_.find(key); it != listeners_.end()) {
    it->second->last_used = std::chrono::steady_clock::now();
    return it->second->port;
  }
  auto l = std::make_shared<Listener>(Listener{peer, tcp::acceptor(ex_), 0, 0, std::chrono::steady_clock::now()});
  const tcp::endpoint ep(loopback_, 0);
  l->acceptor.open(ep.protocol(), ec);
  if (!ec) l->acceptor.bind(ep, ec);
  if (!ec) l->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return std::nullopt;
  l->port = l->acceptor.local_endpoint(ec).port();
  if (ec) return std::nullopt;
  listeners_.emplace(key, l);
  ctx_.metrics.gauge("distls_peer_listeners_open") = static_cast<std::int64_t>(listeners_.size());
  ctx_.log.info("peer_port_open", {{"peer", key}, {"port", l->port}});
  // The lambda holds the listener for as long as its loop runs.
  ctx_.tasks.spawn("peer-port-accept", [this, l]() -> asio::awaitable<void> {
    // Named, not made in the co_await expression: GCC 12 would destroy that closure
    // twice, releasing the listener once too often.
    auto on_accept = [this, l](tcp::socket s) { ctx_.tasks.spawn("tunnel-out", tunnel(l, std::move(s))); };
    co_await accept_loop(l->acceptor, ctx_.log, &ctx_.metrics, "peer_port", std::move(on_accept));
  });
  if (!sweeping_) {
    sweeping_ = true;
    ctx_.tasks.spawn("peer-port-sweep", sweep_loop());
  }
  return l->port;
}

asio::awaitable<void> PeerListeners::tunnel(std::shared_ptr<Listener> l, tcp::socket s) {
  ++l->active;
  co_await dialer_.run(std::move(s), l->peer);
  --l->active;
  l->last_used = std::chrono::steady_clock::now();
}

asio::awaitable<void> PeerListeners::sweep_loop() {
  const auto period = std::max<std::chrono::steady_clock::duration>(ctx_.limits.peer_idle_timeout / 4,
                                                                    std::chrono::seconds(1));
  while (!listeners_.empty()) {
    sweep_timer_.expires_after(period);
    auto [ec] = co_await sweep_timer_.async_wait(as_tuple(use_awaitable));
    if (ec) break;
    const auto now = std::chrono::steady_clock::now();
    for (auto it = listeners_.begin(); it != listeners_.end();) {
      auto& l = *it->second;
      if (l.active == 0 && now - l.last_used >= ctx_.limits.peer_idle_timeout) {
        ctx_.log.info("peer_port_closed", {{"peer", it->first}, {"port", l.port}, {"reason", "idle"}});
        error_code ignored;
        l.acceptor.close(ignored);
        it = listeners_.erase(it);
      } else {
        ++it;
      }
    }
    ctx_.metrics.gauge("distls_peer_listeners_open") = static_cast<std::int64_t>(listeners_.size());
  }
  sweeping_ = false;
}

std::vector<PeerListeners::Info> PeerListeners::list() const {
  std::vector<Info> out;
  for (const auto& [k, l] : listeners_) out.push_back({k, l->port, l->active});
  return out;
}

void PeerListeners::stop() {
  error_code ignored;
  sweep_timer_.cancel();
  for (auto& [k, l] : listeners_) l->acceptor.close(ignored);
  listeners_.clear();
}

}  // namespace distls
