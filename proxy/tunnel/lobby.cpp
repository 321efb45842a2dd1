#include "distls/tunnel/lobby.hpp"

namespace distls {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

Lobby::Lobby(asio::any_io_executor ex, clock::duration timeout, Admit admit, Reject reject)
    : timeout_(timeout), admit_(std::move(admit)), reject_(std::move(reject)), timer_(ex) {}

void Lobby::enter(tcp::socket s, ConnectionLimiter::Slot slot, tcp::endpoint remote) {
  auto it = guests_.insert(guests_.end(), Guest{std::move(s), std::move(slot), remote, clock::now() + timeout_});
  it->socket.async_wait(tcp::socket::wait_read, [this, it](const boost::system::error_code& ec) { on_ready(it, ec); });
  if (!armed_) arm();
}

void Lobby::on_ready(std::list<Guest>::iterator it, const boost::system::error_code& ec) {
  Guest g = std::move(*it);
  guests_.erase(it);
  if (closing_) return;
  boost::system::error_code aec;
  if (g.expired) {
    reject_(g.remote, "handshake_timeout", "nothing sent within the deadline");
  } else if (ec) {
    reject_(g.remote, "peer_closed", ec.message());
  } else if (g.socket.available(aec) == 0) {  // readable with nothing to read: closed or reset
    reject_(g.remote, "peer_closed", aec ? aec.message() : "closed without sending anything");
  } else {
    admit_(std::move(g.socket), std::move(*g.slot), g.remote, g.deadline);
  }
}

void Lobby::arm() {
  for (const auto& g : guests_) {
    if (g.expired) continue;
    armed_ = true;
    timer_.expires_at(g.deadline);
    timer_.async_wait([this](const boost::system::error_code& ec) {
      armed_ = false;
      if (!ec && !closing_) sweep();
    });
    return;
  }
}

void Lobby::sweep() {
  const auto now = clock::now();
  for (auto& g : guests_) {
    if (g.expired) continue;
    if (g.deadline > now) break;
    // Closing ends its wait: on_ready reports it, with the reason set here.
    g.expired = true;
    boost::system::error_code ignored;
    g.socket.close(ignored);
  }
  arm();
}

void Lobby::close_all() {
  closing_ = true;
  timer_.cancel();
  for (auto& g : guests_) {
    boost::system::error_code ignored;
    g.socket.close(ignored);
  }
}

}  // namespace distls
