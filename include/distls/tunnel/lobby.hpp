// Where inbound connections wait for their first byte. A stranger that connects and says
// nothing must cost next to nothing: no TLS state, no coroutine frames, no timer of its
// own. Each guest is a socket with one pending readiness wait; one timer for the whole
// lobby expires guests in arrival order (every guest gets the same deadline). A guest
// that speaks leaves for `admit`; one that closes or stays silent leaves through
// `reject` with the reason.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "distls/tunnel/connection_limiter.hpp"

namespace distls {

class Lobby {
 public:
  using clock = std::chrono::steady_clock;
  // A guest that sent something; `deadline` is what is left of its handshake time.
  using Admit = std::function<void(boost::asio::ip::tcp::socket, ConnectionLimiter::Slot,
                                   boost::asio::ip::tcp::endpoint remote, clock::time_point deadline)>;
  // A guest that left without a word: "peer_closed" or "handshake_timeout", and why.
  using Reject = std::function<void(const boost::asio::ip::tcp::endpoint& remote, std::string_view reason,
                                    const std::string& detail)>;

  Lobby(boost::asio::any_io_executor ex, clock::duration timeout, Admit admit, Reject reject);
  Lobby(const Lobby&) = delete;
  Lobby& operator=(const Lobby&) = delete;

  void enter(boost::asio::ip::tcp::socket s, ConnectionLimiter::Slot slot, boost::asio::ip::tcp::endpoint remote);
  std::size_t size() const { return guests_.size(); }
  // Shutdown: every guest is turned away (their waits end; rejects are not reported).
  void close_all();

 private:
  struct Guest {
    boost::asio::ip::tcp::socket socket;
    std::optional<ConnectionLimiter::Slot> slot;
    boost::asio::ip::tcp::endpoint remote;
    clock::time_point deadline;
    bool expired = false;
  };
  void on_ready(std::list<Guest>::iterator it, const boost::system::error_code& ec);
  void arm();
  void sweep();

  clock::duration timeout_;
  Admit admit_;
  Reject reject_;
  std::list<Guest> guests_;  // in arrival order, so deadlines only grow along it
  boost::asio::steady_timer timer_;
  bool armed_ = false;
  bool closing_ = false;
};

}  // namespace distls
